//! The thread pool every kernel runs on.
//!
//! One pool, resizable at run time (`prefcore.set_num_threads`). Kernels never let the
//! thread count change a result: work is split into independent items whose outputs
//! are written to fixed slots, and any reduction runs sequentially in item order.

use std::sync::{Arc, OnceLock, RwLock};

use rayon::{ThreadPool, ThreadPoolBuilder};

use crate::error::{Error, Result};

/// The pool and the process that started its threads.
struct Pool {
    threads: Arc<ThreadPool>,
    pid: u32,
}

static POOL: OnceLock<RwLock<Pool>> = OnceLock::new();

/// The most threads a pool may have, per core: more only adds switching, and a
/// mistyped count (100000) would otherwise start that many OS threads.
const MAX_THREADS_PER_CORE: usize = 8;

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The largest thread count accepted: 8 per core, and at least 16.
pub fn max_threads() -> usize {
    (cores() * MAX_THREADS_PER_CORE).max(16)
}

/// What `PREFCORE_NUM_THREADS` asks for: the count to use, and a sentence saying why
/// it differs from the value given (not a positive integer, or above the cap).
pub fn threads_from_env() -> (usize, Option<String>) {
    let Ok(raw) = std::env::var("PREFCORE_NUM_THREADS") else {
        return (cores(), None);
    };
    match raw.trim().parse::<usize>() {
        Ok(n) if n > 0 && n <= max_threads() => (n, None),
        Ok(n) if n > 0 => (
            max_threads(),
            Some(format!(
                "PREFCORE_NUM_THREADS={n} is above the cap of {} ({MAX_THREADS_PER_CORE} per \
                 core on {} cores); using {}",
                max_threads(),
                cores(),
                max_threads()
            )),
        ),
        _ => (
            cores(),
            Some(format!(
                "PREFCORE_NUM_THREADS={raw:?} is not a positive integer; using one thread per \
                 core ({})",
                cores()
            )),
        ),
    }
}

/// Threads to use when nothing was set: `PREFCORE_NUM_THREADS`, else one per core.
fn default_threads() -> usize {
    threads_from_env().0
}

fn build(n: usize) -> Result<Arc<ThreadPool>> {
    ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("prefcore-{i}"))
        .build()
        .map(Arc::new)
        .map_err(|e| Error::argument(format!("cannot start {n} threads: {e}")))
}

fn build_or_one(n: usize) -> Arc<ThreadPool> {
    build(n)
        .or_else(|_| build(1))
        .expect("a one-thread pool can always be built")
}

fn cell() -> &'static RwLock<Pool> {
    POOL.get_or_init(|| {
        RwLock::new(Pool {
            threads: build_or_one(default_threads()),
            pid: std::process::id(),
        })
    })
}

fn current() -> Arc<ThreadPool> {
    // A poisoned lock still holds a valid pool: a panic elsewhere cannot corrupt an Arc.
    let pid = std::process::id();
    {
        let pool = cell().read().unwrap_or_else(|e| e.into_inner());
        if pool.pid == pid {
            return pool.threads.clone();
        }
    }
    // A forked child inherits the pool's memory but none of its threads: a job sent to
    // it would wait forever. Start a pool of the same size in this process; the parent's
    // pool is leaked, as dropping it would signal threads that do not exist here.
    let mut pool = cell().write().unwrap_or_else(|e| e.into_inner());
    if pool.pid != pid {
        let size = pool.threads.current_num_threads();
        let stale = std::mem::replace(&mut pool.threads, build_or_one(size));
        std::mem::forget(stale);
        pool.pid = pid;
    }
    pool.threads.clone()
}

/// Replace the pool with one of `n` threads (`n >= 1`).
pub fn set_num_threads(n: usize) -> Result<()> {
    if n == 0 || n > max_threads() {
        return Err(Error::bad_argument(
            "num_threads",
            format!(
                "num_threads must be between 1 and {} ({MAX_THREADS_PER_CORE} per core on {} \
             cores), not {n}",
                max_threads(),
                cores()
            ),
        ));
    }
    let threads = build(n)?;
    let mut pool = cell().write().unwrap_or_else(|e| e.into_inner());
    let stale = std::mem::replace(&mut pool.threads, threads);
    if pool.pid != std::process::id() {
        std::mem::forget(stale); // the threads of a parent process: see `current`
    }
    pool.pid = std::process::id();
    Ok(())
}

/// Number of threads kernels run on.
pub fn num_threads() -> usize {
    current().current_num_threads()
}

/// Run `f` inside the pool, so rayon iterators in it use prefcore's threads.
pub fn install<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    current().install(f)
}

/// Fill `rows` row by row in parallel: `fill(scratch, i, row)` writes row `i` (a
/// `width`-long slice of `values`), with one `S` of reusable buffers per worker. On
/// failure the error of the lowest row is returned, whatever the thread count. Rows
/// go a wave at a time, so Ctrl-C is noticed between waves ([`crate::interrupt`]).
pub fn fill_rows<S, F>(values: &mut [f64], width: usize, min_rows: usize, fill: F) -> Result<()>
where
    S: Default,
    F: Fn(&mut S, usize, &mut [f64]) -> Result<()> + Sync,
{
    use rayon::prelude::*;
    let width = width.max(1);
    let wave = wave_len(min_rows);
    let total = values.len() / width;
    for (w, rows) in values.chunks_mut(wave * width).enumerate() {
        crate::interrupt::check()?;
        let first_row = w * wave;
        let first_error = install(|| {
            rows.par_chunks_mut(width)
                .enumerate()
                .with_min_len(min_rows)
                .map_init(S::default, |scratch, (i, row)| {
                    fill(scratch, first_row + i, row)
                        .err()
                        .map(|e| (first_row + i, e))
                })
                .flatten()
                .min_by_key(|(i, _)| *i)
        });
        // Waves run in row order: the first failing wave holds the lowest failing row.
        if let Some((_, e)) = first_error {
            return Err(e);
        }
        crate::progress::advance((first_row + wave).min(total), total);
    }
    Ok(())
}

/// Fill `rows` (each a `width`-long slice of `values`) in parallel with `fill(scratch,
/// i, row)`, one `init()` scratch per worker, a wave of rows at a time so that Ctrl-C
/// is noticed and progress reported between waves. For work that cannot fail
/// ([`fill_rows`] for work that can).
pub fn fill_rows_with<T, S, I, F>(values: &mut [T], width: usize, init: I, fill: F) -> Result<()>
where
    T: Send,
    I: Fn() -> S + Sync + Send,
    F: Fn(&mut S, usize, &mut [T]) + Sync + Send,
{
    use rayon::prelude::*;
    let width = width.max(1);
    let total = values.len() / width;
    let wave = wave_len(1);
    for (w, rows) in values.chunks_mut(wave * width).enumerate() {
        crate::interrupt::check()?;
        let first_row = w * wave;
        install(|| {
            rows.par_chunks_mut(width)
                .enumerate()
                .for_each_init(&init, |scratch, (i, row)| fill(scratch, first_row + i, row))
        });
        crate::progress::advance((first_row + wave).min(total), total);
    }
    Ok(())
}

/// Items per wave of an interruptible loop whose items cost `min_items` at a time:
/// enough for every thread to take many turns, so the wait at the end of each wave
/// (threads finishing unevenly) stays a small share of the work (a wave of a TREC or
/// grouped evaluation is a few to tens of milliseconds).
fn wave_len(min_items: usize) -> usize {
    (min_items.max(1) * num_threads() * 64).max(1 << 16)
}

/// `f(init, i)` for `i` in `0..n` in parallel, collected in order, with one `init()`
/// scratch per worker, a wave of items at a time so that Ctrl-C is noticed between
/// waves. For cheap items (a row's hash); [`map_interruptible`] for costly ones.
pub fn map_init_interruptible<T, S, I, F>(n: usize, init: I, f: F) -> Result<Vec<T>>
where
    T: Send,
    I: Fn() -> S + Sync + Send,
    F: Fn(&mut S, usize) -> T + Sync + Send,
{
    use rayon::prelude::*;
    let wave = wave_len(1024);
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(wave) {
        crate::interrupt::check()?;
        let end = (start + wave).min(n);
        install(|| out.par_extend((start..end).into_par_iter().map_init(&init, &f)));
        crate::progress::advance(end, n);
    }
    Ok(out)
}

/// `f(0..n)` in parallel, collected in order, a chunk of items at a time so that
/// Ctrl-C is noticed between chunks ([`crate::interrupt`]). Items are independent,
/// so chunking changes nothing in the result.
pub fn map_interruptible<T, F>(n: usize, f: F) -> Result<Vec<T>>
where
    T: Send,
    F: Fn(usize) -> T + Sync,
{
    use rayon::prelude::*;
    let chunk = (num_threads() * 4).max(1);
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    while start < n {
        crate::interrupt::check()?;
        let end = (start + chunk).min(n);
        out.extend(install(|| {
            (start..end).into_par_iter().map(&f).collect::<Vec<T>>()
        }));
        crate::progress::advance(end, n);
        start = end;
    }
    Ok(out)
}

/// `one(round)` for every round in `0..total`, in parallel, in chunks so that Ctrl-C is
/// noticed between them and progress is reported as `stage`; results in round order.
/// Each round must depend on its index alone (its own random stream), so the chunking
/// changes nothing in the result.
pub fn rounds<T: Send>(
    total: usize,
    stage: &'static str,
    one: impl Fn(usize) -> Result<T> + Sync + Send,
) -> Result<Vec<T>> {
    use rayon::prelude::*;

    let mut out = crate::alloc::reserved(total, stage)?;
    let chunk = num_threads() * 16;
    let mut start = 0;
    crate::progress::stage(stage);
    while start < total {
        crate::interrupt::check()?;
        let end = (start + chunk).min(total);
        let part: Result<Vec<T>> = install(|| (start..end).into_par_iter().map(&one).collect());
        out.extend(part?);
        crate::progress::advance(end, total);
        start = end;
    }
    Ok(out)
}
