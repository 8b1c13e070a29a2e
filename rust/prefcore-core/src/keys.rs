//! Integer keys that make the hot sorts cheap: ordered floats and fast id hashes.

/// A key whose ascending order is `score` descending. `-0.0` and `0.0` get the same
/// key, as they compare equal (trec_eval compares scores with `<`/`>`).
#[inline]
pub fn score_desc_key(score: f64) -> u64 {
    let bits = (score + 0.0).to_bits(); // -0.0 + 0.0 == +0.0
    let ascending = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    !ascending
}

/// A fast 64-bit hash of a short byte string (ids). Not for hash-flooding defence:
/// callers break ties by comparing the bytes, so a collision costs time, not
/// correctness.
#[inline]
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    let mut rest = bytes;
    while rest.len() >= 8 {
        let (chunk, tail) = rest.split_at(8);
        let v = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        h = (h ^ v).wrapping_mul(K).rotate_left(29);
        rest = tail;
    }
    if !rest.is_empty() {
        let mut buf = [0u8; 8];
        buf[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(buf))
            .wrapping_mul(K)
            .rotate_left(29);
    }
    // One multiply-xorshift round spreads the high bits into the low ones that pick
    // hash-table slots.
    h = (h ^ (h >> 32)).wrapping_mul(K);
    h ^ (h >> 29)
}

/// A `std` hasher built on [`hash_bytes`], for hash maps keyed by ids.
#[derive(Default, Clone, Copy)]
pub struct IdHasher {
    state: u64,
}

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.state = hash_bytes(bytes) ^ self.state.rotate_left(17);
    }

    fn write_usize(&mut self, n: usize) {
        self.state = (self.state ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.state
    }
}

/// Builds [`IdHasher`]s.
pub type IdHashBuilder = std::hash::BuildHasherDefault<IdHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn key_order_is_descending_score_order(a in any::<f64>(), b in any::<f64>()) {
            prop_assume!(!a.is_nan() && !b.is_nan());
            let by_key = score_desc_key(a).cmp(&score_desc_key(b));
            let by_score = b.partial_cmp(&a).unwrap();
            prop_assert_eq!(by_key, by_score);
        }
    }

    #[test]
    fn signed_zeros_tie_and_infinities_order() {
        assert_eq!(score_desc_key(-0.0), score_desc_key(0.0));
        assert!(score_desc_key(f64::INFINITY) < score_desc_key(1e308));
        assert!(score_desc_key(f64::NEG_INFINITY) > score_desc_key(-1e308));
    }

    #[test]
    fn hash_depends_on_every_byte_and_the_length() {
        assert_ne!(hash_bytes(b"doc1"), hash_bytes(b"doc2"));
        assert_ne!(hash_bytes(b"a"), hash_bytes(b"a\0"));
        assert_ne!(hash_bytes(b"abcdefgh1"), hash_bytes(b"abcdefgh2"));
    }
}
