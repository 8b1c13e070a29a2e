//! Allocations whose size comes from an argument (`k`, `n_bins`, a padded width).
//!
//! `vec![x; n]` aborts the process when the memory cannot be had, and panics on a
//! size that overflows. Sizes a user chose go through here instead, so the caller gets
//! an [`Error::OutOfMemory`] (Python's `MemoryError`) naming the argument.
//!
//! `try_reserve` alone is not enough: allocators that reserve address space lazily
//! (mimalloc, Linux overcommit) grant a request far beyond the machine's memory, and
//! the process is killed when the pages are touched. So a request larger than the
//! memory available now (RAM and swap) is refused up front.

use crate::error::{Error, Result};

/// Memory that can be had now, in bytes: available RAM plus free swap, where the
/// system says (Linux); `None` elsewhere. Read at each request, so several large
/// outputs of one call are counted against what the earlier ones left.
fn available_memory() -> Option<usize> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| -> Option<usize> {
        let line = info.lines().find(|l| l.starts_with(name))?;
        let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
        kib.checked_mul(1024)
    };
    Some(field("MemAvailable:")?.saturating_add(field("SwapFree:").unwrap_or(0)))
}

/// `len` copies of `value`, or an error naming `what` when that much memory cannot be had.
pub fn filled<T: Clone>(len: usize, value: T, what: &str) -> Result<Vec<T>> {
    let mut v = reserved(len, what)?;
    v.resize(len, value);
    Ok(v)
}

/// An empty vector with room for `len` items, or an error naming `what`.
pub fn reserved<T>(len: usize, what: &str) -> Result<Vec<T>> {
    let bytes = len.checked_mul(std::mem::size_of::<T>().max(1));
    let mut v = Vec::new();
    match bytes {
        Some(b)
            if b <= isize::MAX as usize
                && available_memory().is_none_or(|m| b <= m)
                && v.try_reserve_exact(len).is_ok() =>
        {
            Ok(v)
        }
        _ => Err(Error::OutOfMemory {
            what: what.to_string(),
            bytes: bytes.map_or_else(|| "more than 2^64".to_string(), |b| b.to_string()),
        }),
    }
}

/// `a * b` for an allocation size, or an error naming `what` when it overflows.
pub fn product(a: usize, b: usize, what: &str) -> Result<usize> {
    a.checked_mul(b).ok_or_else(|| Error::OutOfMemory {
        what: what.to_string(),
        bytes: "more than 2^64".to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_sizes_are_errors_not_aborts() {
        assert!(matches!(
            filled(usize::MAX / 2, 0u64, "k"),
            Err(Error::OutOfMemory { .. })
        ));
        assert!(matches!(
            product(usize::MAX, 2, "k"),
            Err(Error::OutOfMemory { .. })
        ));
        assert_eq!(filled(3, 7u8, "k").unwrap(), vec![7, 7, 7]);
    }
}
