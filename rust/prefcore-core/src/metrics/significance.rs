//! Paired significance tests between two systems' per-query values.
//!
//! Resampling tests draw each resample from its own seeded stream, so the p-value is
//! the same for any thread count and on any platform.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::parallel;
use crate::random::Rng;

/// Which paired test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Test {
    /// Student's paired t-test (two-sided).
    T,
    /// Fisher's randomization (sign-flip permutation) test.
    Randomization,
    /// Bootstrap of the mean difference, shifted to the null.
    Bootstrap,
}

crate::parse_option!(Test, "test", {
    "t" | "student" => Test::T,
    "randomization" | "permutation" | "fisher" => Test::Randomization,
    "bootstrap" => Test::Bootstrap,
});

impl Test {
    /// The test's first spelling, as results report it.
    pub fn name(self) -> &'static str {
        match self {
            Test::T => "t",
            Test::Randomization => "randomization",
            Test::Bootstrap => "bootstrap",
        }
    }
}

/// The outcome of [`compare`].
#[derive(Clone, Debug)]
pub struct Comparison {
    pub n: usize,
    pub mean_a: f64,
    pub mean_b: f64,
    /// mean(a − b)
    pub difference: f64,
    /// Test statistic: t for the t-test, the observed mean difference otherwise.
    pub statistic: f64,
    pub p_value: f64,
    /// Paired Cohen's d: mean(a − b) / sd(a − b).
    pub effect_size: f64,
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn sample_sd(v: &[f64], m: f64) -> f64 {
    (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() as f64 - 1.0)).sqrt()
}

/// ln Γ(x) by the Lanczos approximation (g = 7, n = 9), accurate to ~1e-15.
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let series: f64 = C[0] + (1..9).map(|i| C[i] / (x + i as f64)).sum::<f64>();
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

/// Continued fraction of the incomplete beta function (modified Lentz).
fn beta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..500 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// Regularised incomplete beta I_x(a, b).
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_continued_fraction(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_continued_fraction(b, a, 1.0 - x) / b
    }
}

/// Two-sided p-value of Student's t with `df` degrees of freedom.
pub fn student_t_two_sided(t: f64, df: f64) -> f64 {
    if t.is_nan() {
        return f64::NAN;
    }
    if t.is_infinite() {
        return 0.0;
    }
    incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
}

/// Compare paired values `a` and `b` (one per query) with the chosen test.
pub fn compare(
    a: &[f64],
    b: &[f64],
    test: Test,
    n_resamples: usize,
    seed: u64,
) -> Result<Comparison> {
    if a.len() != b.len() {
        return Err(Error::argument(format!(
            "the two systems have {} and {} values; they must be paired",
            a.len(),
            b.len()
        )));
    }
    if a.len() < 2 {
        return Err(Error::argument("a paired test needs at least 2 queries"));
    }
    for (name, v) in [("a", a), ("b", b)] {
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::value(
                name,
                i,
                format!("{} is not a finite number", v[i]),
            ));
        }
    }
    if test != Test::T && n_resamples == 0 {
        return Err(Error::bad_argument(
            "n_resamples",
            "n_resamples must be at least 1",
        ));
    }
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let n = d.len();
    let md = mean(&d);
    let sd = sample_sd(&d, md);
    let effect_size = if sd > 0.0 { md / sd } else { f64::NAN };
    let observed = md.abs();
    // Tolerance so that resamples equal to the observation up to rounding count as
    // "at least as extreme".
    let eps = 1e-12 * observed.max(1e-300);
    let extreme = |draw: &(dyn Fn(&mut Rng) -> f64 + Sync)| -> f64 {
        let hits: usize = parallel::install(|| {
            (0..n_resamples)
                .into_par_iter()
                .map(|i| {
                    let mut rng = Rng::for_stream(seed, i as u64);
                    (draw(&mut rng).abs() >= observed - eps) as usize
                })
                .sum()
        });
        (hits + 1) as f64 / (n_resamples + 1) as f64
    };
    let (statistic, p_value) = match test {
        Test::T => {
            let t = if sd > 0.0 {
                md / (sd / (n as f64).sqrt())
            } else if md == 0.0 {
                f64::NAN
            } else {
                md.signum() * f64::INFINITY
            };
            (t, student_t_two_sided(t, (n - 1) as f64))
        }
        Test::Randomization => (
            md,
            extreme(&|rng: &mut Rng| {
                d.iter()
                    .map(|&x| if rng.next_u64() & 1 == 1 { x } else { -x })
                    .sum::<f64>()
                    / n as f64
            }),
        ),
        Test::Bootstrap => (
            md,
            extreme(&|rng: &mut Rng| {
                (0..n)
                    .map(|_| d[rng.below(n as u64) as usize] - md)
                    .sum::<f64>()
                    / n as f64
            }),
        ),
    };
    Ok(Comparison {
        n,
        mean_a: mean(a),
        mean_b: mean(b),
        difference: md,
        statistic,
        p_value,
        effect_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tests_name_parses_back_to_it() {
        for test in [Test::T, Test::Randomization, Test::Bootstrap] {
            assert_eq!(test.name().parse::<Test>().unwrap(), test);
        }
    }

    #[test]
    fn t_distribution_matches_published_tables() {
        // Two-sided critical values: t = 2.228 at df = 10 gives p = 0.05,
        // t = 2.0 at df = 5 gives p = 0.1019 (scipy.stats.t.sf(2, 5) * 2).
        assert!((student_t_two_sided(2.228, 10.0) - 0.05).abs() < 2e-4);
        assert!((student_t_two_sided(2.0, 5.0) - 0.101_939_1).abs() < 1e-6);
        assert!((student_t_two_sided(0.0, 7.0) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn resampling_is_seeded_and_sane() {
        let a: Vec<f64> = (0..30).map(|i| (i as f64 * 0.37).sin() + 0.5).collect();
        let b: Vec<f64> = (0..30).map(|i| (i as f64 * 0.37).sin()).collect();
        let r1 = compare(&a, &b, Test::Randomization, 2000, 7).unwrap();
        let r2 = compare(&a, &b, Test::Randomization, 2000, 7).unwrap();
        assert_eq!(r1.p_value, r2.p_value);
        assert!(r1.p_value < 0.01);
        let same = compare(&a, &a, Test::Bootstrap, 500, 1).unwrap();
        assert_eq!(same.p_value, 1.0);
    }
}
