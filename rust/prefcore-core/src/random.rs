//! A small seeded generator (SplitMix64 to seed, xoshiro256** to draw), so results
//! depend only on the seed: not on the platform, a crate version or thread count.

/// xoshiro256** state.
pub struct Rng {
    s: [u64; 4],
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut st = seed;
        Rng {
            s: [
                splitmix(&mut st),
                splitmix(&mut st),
                splitmix(&mut st),
                splitmix(&mut st),
            ],
        }
    }

    /// An independent stream per work item: results do not depend on scheduling.
    pub fn for_stream(seed: u64, stream: u64) -> Self {
        let mut st = seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        Rng::new(splitmix(&mut st))
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A Binomial(`n`, `p`) draw: inversion when `n·min(p, 1−p)` is small, else
    /// Hörmann's transformed rejection with squeeze (BTRS, 1993), both exact.
    pub fn binomial(&mut self, n: u64, p: f64) -> u64 {
        if n == 0 || p <= 0.0 {
            return 0;
        }
        if p >= 1.0 {
            return n;
        }
        if p > 0.5 {
            return n - self.binomial(n, 1.0 - p);
        }
        if n as f64 * p < 10.0 {
            self.binomial_inversion(n, p)
        } else {
            self.binomial_btrs(n, p)
        }
    }

    fn binomial_inversion(&mut self, n: u64, p: f64) -> u64 {
        let q = 1.0 - p;
        let ratio = p / q;
        let start = q.powf(n as f64);
        loop {
            let (mut u, mut mass, mut k) = (self.unit(), start, 0u64);
            // Walk the distribution: P(k + 1) = P(k) · (n − k) / (k + 1) · p / q.
            while u >= mass && k < n {
                u -= mass;
                mass *= ratio * (n - k) as f64 / (k + 1) as f64;
                k += 1;
            }
            if u < mass || k < n {
                return k;
            }
            // Rounding left u above the last mass: draw again.
        }
    }

    fn binomial_btrs(&mut self, n: u64, p: f64) -> u64 {
        let (nf, q) = (n as f64, 1.0 - p);
        let spq = (nf * p * q).sqrt();
        let b = 1.15 + 2.53 * spq;
        let a = -0.0873 + 0.0248 * b + 0.01 * p;
        let c = nf * p + 0.5;
        let v_r = 0.92 - 4.2 / b;
        let alpha = (2.83 + 5.1 / b) * spq;
        let m = ((nf + 1.0) * p).floor();
        // The exact test's constants, computed on the first draw the squeeze does not
        // settle (about one in seven): most calls never need the log-gammas.
        let mut exact: Option<(f64, f64)> = None;
        loop {
            let u = self.unit() - 0.5;
            let v = self.unit();
            let us = 0.5 - u.abs();
            let k = ((2.0 * a / us + b) * u + c).floor();
            if k < 0.0 || k > nf {
                continue;
            }
            if us >= 0.07 && v <= v_r {
                return k as u64;
            }
            let v = (v * alpha / (a / (us * us) + b)).ln();
            let (h, lpq) = *exact.get_or_insert_with(|| {
                let h = libm::lgamma(m + 1.0) + libm::lgamma(nf - m + 1.0);
                (h, (p / q).ln())
            });
            let bound = h - libm::lgamma(k + 1.0) - libm::lgamma(nf - k + 1.0) + (k - m) * lpq;
            if v <= bound {
                return k as u64;
            }
        }
    }

    /// Counts of `total` draws with replacement from items weighted by `counts` (a
    /// multinomial with probabilities `counts / Σ counts`), by conditional binomials:
    /// item `i` takes Binomial(draws left, its count / counts left).
    pub fn multinomial(&mut self, counts: &[u64], total: u64) -> Vec<u64> {
        let mut left: u64 = counts.iter().sum();
        let mut draws = total;
        let mut out = Vec::with_capacity(counts.len());
        for &c in counts {
            let x = if draws == 0 || left == 0 {
                0
            } else if c == left {
                draws
            } else {
                self.binomial(draws, c as f64 / left as f64)
            };
            out.push(x);
            draws -= x;
            left -= c;
        }
        out
    }

    /// Uniform integer in `0..n` (Lemire's multiply-shift with rejection).
    pub fn below(&mut self, n: u64) -> u64 {
        let mut m = (self.next_u64() as u128) * (n as u128);
        // The rejection threshold (2^64 - n) mod n is below n: a draw whose low half
        // is at least n is accepted without computing it (a 64-bit division).
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = (self.next_u64() as u128) * (n as u128);
            }
        }
        (m >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomial_draws_have_the_binomial_mean_and_variance() {
        // Both algorithms (n·p below and above 10), and p above one half.
        for &(n, p) in &[(20u64, 0.1), (1000, 0.3), (50, 0.9), (5_000_000, 0.01)] {
            let mut rng = Rng::new(n ^ 7);
            let draws: Vec<f64> = (0..40_000).map(|_| rng.binomial(n, p) as f64).collect();
            let mean = draws.iter().sum::<f64>() / draws.len() as f64;
            let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / draws.len() as f64;
            let (mu, sigma2) = (n as f64 * p, n as f64 * p * (1.0 - p));
            // Five standard errors of the mean and about ten percent on the variance.
            assert!(
                (mean - mu).abs() < 5.0 * (sigma2 / draws.len() as f64).sqrt(),
                "{n} {p}"
            );
            assert!(
                (var / sigma2 - 1.0).abs() < 0.1,
                "{n} {p}: {var} vs {sigma2}"
            );
            assert!(draws.iter().all(|&d| d <= n as f64));
        }
        // A small case against its exact probabilities: Binomial(3, 0.5) = 1:3:3:1 / 8.
        let mut rng = Rng::new(3);
        let mut hist = [0u32; 4];
        for _ in 0..80_000 {
            hist[rng.binomial(3, 0.5) as usize] += 1;
        }
        for (k, want) in [1.0, 3.0, 3.0, 1.0].iter().enumerate() {
            let got = hist[k] as f64 / 80_000.0;
            assert!((got - want / 8.0).abs() < 0.006, "{k}: {got}");
        }
    }

    #[test]
    fn multinomial_counts_add_up() {
        let mut rng = Rng::new(11);
        let counts = [5u64, 0, 17, 3, 75];
        for _ in 0..200 {
            let draw = rng.multinomial(&counts, 100);
            assert_eq!(draw.iter().sum::<u64>(), 100);
            assert_eq!(draw[1], 0);
        }
    }

    /// Lemire's method as published: the threshold computed before every test.
    fn below_reference(rng: &mut Rng, n: u64) -> u64 {
        loop {
            let m = (rng.next_u64() as u128) * (n as u128);
            if m as u64 >= n.wrapping_neg() % n {
                return (m >> 64) as u64;
            }
        }
    }

    #[test]
    fn below_draws_what_the_reference_draws() {
        // Bounds near 2^64 reject often, so the retry path is exercised too.
        let bounds = [
            1u64,
            2,
            3,
            7,
            16,
            1000,
            (1 << 63) + 1,
            u64::MAX - 1,
            u64::MAX,
        ];
        for seed in 0..50 {
            let (mut a, mut b) = (Rng::new(seed), Rng::new(seed));
            for _ in 0..200 {
                for &n in &bounds {
                    let got = a.below(n);
                    assert_eq!(got, below_reference(&mut b, n), "seed {seed} n {n}");
                    assert!(got < n);
                }
            }
        }
    }
}
