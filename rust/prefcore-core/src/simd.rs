//! Hot per-group passes compiled twice: for x86-64's baseline and for AVX-512, the
//! latter chosen at run time. A whole-crate AVX-512 build was slower on the grouped
//! kernel, so only passes measured faster this way take it.

/// Whether the CPU has every AVX-512 subset that [`avx512_or_baseline!`] may compile for.
#[cfg(target_arch = "x86_64")]
pub fn has_avx512() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512dq")
        && std::arch::is_x86_feature_detected!("avx512vl")
        && std::arch::is_x86_feature_detected!("avx512bw")
}

/// `avx512_or_baseline!("features", (arg: Type = value, ...) -> Ret, body)` evaluates
/// `body` over the arguments, compiled with the given AVX-512 subsets (some of F, DQ,
/// VL, BW: each pass keeps the set measured fastest for it) where the CPU has all
/// four, and for the baseline elsewhere. Both builds are the same source, so they
/// agree.
macro_rules! avx512_or_baseline {
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
            if $crate::simd::has_avx512() {
                // SAFETY: the CPU has the features the function was compiled for.
                unsafe { avx512($($val),*) }
            } else {
                baseline($($val),*)
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            baseline($($val),*)
        }
    }};
}
pub(crate) use avx512_or_baseline;
