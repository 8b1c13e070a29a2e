//! Progress of long calls.
//!
//! The core holds no Python and prints nothing: a caller that wants a progress bar
//! installs a [`Report`] for the duration of a call ([`reporting`]). Kernels name the
//! stage they are in ([`stage`]) and their interruptible loops say how far they are
//! ([`advance`]) between waves, on the calling thread, which is where the report was
//! installed. Without a report (the default, and plain Rust use) both are a
//! thread-local read.

use std::cell::RefCell;

/// Receives `(stage, done, total)`: `done` of `total` units of the current stage.
pub type Report = Box<dyn FnMut(&str, u64, u64) + Send>;

struct State {
    report: Report,
    stage: &'static str,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// Run `f` with `report` receiving the progress of the kernels it calls on this
/// thread; the previous report (if any) is restored afterwards, also on a panic.
pub fn reporting<R>(report: Report, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<State>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            STATE.with(|s| *s.borrow_mut() = previous);
        }
    }
    let previous = STATE.with(|s| s.borrow_mut().replace(State { report, stage: "" }));
    let _restore = Restore(previous);
    f()
}

/// Name the stage the next loops belong to (`"hashing"`, `"bands"`): a report shows it
/// beside the call's own label.
pub fn stage(name: &'static str) {
    STATE.with(|s| {
        if let Some(state) = s.borrow_mut().as_mut() {
            state.stage = name;
        }
    });
}

/// `done` of `total` units of the current stage are finished.
pub fn advance(done: usize, total: usize) {
    STATE.with(|s| {
        // A report that itself calls a kernel finds the state borrowed: it is not
        // reported to twice.
        if let Ok(mut state) = s.try_borrow_mut() {
            if let Some(state) = state.as_mut() {
                let stage = state.stage;
                (state.report)(stage, done as u64, total as u64);
            }
        }
    });
}

/// Whether a report is installed on this thread (so a kernel can skip counting work
/// that only a report would read).
pub fn active() -> bool {
    STATE.with(|s| s.try_borrow().map(|s| s.is_some()).unwrap_or(true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn reports_reach_the_installed_report_and_stop_after() {
        let seen: Arc<Mutex<Vec<(String, u64, u64)>>> = Arc::default();
        let sink = seen.clone();
        reporting(
            Box::new(move |stage, done, total| {
                sink.lock().unwrap().push((stage.into(), done, total))
            }),
            || {
                advance(1, 4);
                stage("hashing");
                advance(4, 4);
            },
        );
        advance(9, 9); // no report installed any more
        assert_eq!(
            *seen.lock().unwrap(),
            vec![("".into(), 1, 4), ("hashing".into(), 4, 4)]
        );
        assert!(!active());
    }

    #[test]
    fn nested_reports_restore_the_outer_one() {
        let outer: Arc<Mutex<u64>> = Arc::default();
        let sink = outer.clone();
        reporting(
            Box::new(move |_, done, _| *sink.lock().unwrap() += done),
            || {
                reporting(Box::new(|_, _, _| {}), || advance(100, 100));
                advance(1, 1);
            },
        );
        assert_eq!(*outer.lock().unwrap(), 1);
    }
}
