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
