//! SIMD levels. Hot per-group passes are compiled three times, for x86-64's baseline
//! (SSE2), for AVX2 (x86-64-v3: AVX2, FMA, BMI1/2, LZCNT, POPCNT) and for AVX-512,
//! and the level runs that the CPU has. A whole-crate AVX-512 build was slower on the
//! grouped kernel, so only passes measured faster this way take it.
//!
//! [`force`] pins a lower level (the binding reads `PREFCORE_SIMD` at import), so that
//! every variant can be compared with the others on one machine and timed alone.
//! Other architectures (aarch64 included) run the baseline build, which the compiler
//! vectorises for the target's own base (NEON on aarch64).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use crate::error::{Error, Result};

/// The instruction sets a kernel variant may use, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Baseline = 1,
    Avx2 = 2,
    Avx512 = 3,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 3] = [Level::Baseline, Level::Avx2, Level::Avx512];

    /// The level's name as `PREFCORE_SIMD` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Level::Baseline => "baseline",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }

    /// The level called `name` (case-insensitive); `None` for an unknown name.
    pub fn parse(name: &str) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(name.trim()))
    }

    fn from_u8(v: u8) -> Option<Level> {
        Level::ALL.into_iter().find(|&l| l as u8 == v)
    }
}

/// The highest level this CPU runs.
pub fn detected() -> Level {
    static DETECTED: OnceLock<Level> = OnceLock::new();
    *DETECTED.get_or_init(detect)
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Level {
    use std::arch::is_x86_feature_detected as has;
    if has!("avx512f") && has!("avx512dq") && has!("avx512vl") && has!("avx512bw") {
        Level::Avx512
    } else if has!("avx2")
        && has!("fma")
        && has!("bmi1")
        && has!("bmi2")
        && has!("lzcnt")
        && has!("popcnt")
    {
        Level::Avx2
    } else {
        Level::Baseline
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Level {
    Level::Baseline
}

/// Every level this CPU runs, lowest first.
pub fn supported() -> Vec<Level> {
    Level::ALL
        .into_iter()
        .filter(|&l| l <= detected())
        .collect()
}

/// 0: not forced.
static FORCED: AtomicU8 = AtomicU8::new(0);

/// Pins the level the kernels run (`None`: the detected one again). A level above
/// the CPU's is refused: its instructions would fault.
pub fn force(level: Option<Level>) -> Result<()> {
    match level {
        Some(l) if l > detected() => Err(Error::bad_argument(
            "level",
            format!(
                "this CPU does not run the {} kernels; it runs {}",
                l.name(),
                supported()
                    .iter()
                    .map(|l| l.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        _ => {
            FORCED.store(level.map_or(0, |l| l as u8), Ordering::Relaxed);
            Ok(())
        }
    }
}

/// The level the kernels run now: the forced one, else the detected one.
#[inline]
pub fn level() -> Level {
    Level::from_u8(FORCED.load(Ordering::Relaxed)).unwrap_or_else(detected)
}

/// `by_level!("avx512 features", (arg: Type = value, ...) -> Ret, body)` evaluates
/// `body` over the arguments, compiled for the [`level`] in force: with the given
/// AVX-512 subsets (some of F, DQ, VL, BW: each pass keeps the set measured fastest
/// for it), with AVX2 and its companions, or for the baseline. Every variant is the
/// same source, so they agree.
macro_rules! by_level {
    ($features:literal, ($($arg:ident: $ty:ty = $val:expr),* $(,)?) -> $ret:ty, $body:expr) => {{
        #[inline(always)]
        fn baseline($($arg: $ty),*) -> $ret {
            $body
        }
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = $features)]
            unsafe fn avx512($($arg: $ty),*) -> $ret {
                $body
            }
            #[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
            unsafe fn avx2($($arg: $ty),*) -> $ret {
                $body
            }
            match $crate::simd::level() {
                // SAFETY: `level` never exceeds what the CPU runs.
                $crate::simd::Level::Avx512 => unsafe { avx512($($val),*) },
                // SAFETY: as above.
                $crate::simd::Level::Avx2 => unsafe { avx2($($val),*) },
                $crate::simd::Level::Baseline => baseline($($val),*),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            baseline($($val),*)
        }
    }};
}
pub(crate) use by_level;

/// Runs `f` at each level this CPU supports, then restores the previous setting:
/// the tests' way to compare variants. Callers take turns, so each sees its level.
#[cfg(test)]
pub(crate) fn at_each_level<T>(mut f: impl FnMut(Level) -> T) -> Vec<(Level, T)> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let before = Level::from_u8(FORCED.load(Ordering::Relaxed));
    let out = supported()
        .into_iter()
        .map(|l| {
            force(Some(l)).expect("supported level");
            (l, f(l))
        })
        .collect();
    force(before).expect("restoring a level that was accepted");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_levels_above_the_cpu_are_refused() {
        for l in Level::ALL {
            assert_eq!(Level::parse(l.name()), Some(l));
            assert_eq!(Level::parse(&l.name().to_uppercase()), Some(l));
        }
        assert_eq!(Level::parse("sse9"), None);
        assert!(supported().contains(&Level::Baseline));
        assert_eq!(supported().last(), Some(&detected()));
        if detected() < Level::Avx512 {
            assert!(force(Some(Level::Avx512)).is_err());
        }
    }
}
