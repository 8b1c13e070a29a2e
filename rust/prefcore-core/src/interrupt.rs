//! Ctrl-C for long calls.
//!
//! The core holds no Python, so the binding installs a check (`set_check`) that asks
//! Python whether a signal is pending. Long kernels call [`check`] between chunks of
//! work: an interrupt becomes [`Error::Interrupted`] (Python's `KeyboardInterrupt`)
//! and the call returns without a result. Without an installed check (plain Rust
//! use), [`check`] never fails.

use std::sync::OnceLock;

use crate::error::{Error, Result};

type Check = fn() -> bool;

static CHECK: OnceLock<Check> = OnceLock::new();

/// Install `pending`, which says whether an interrupt is waiting (set once).
pub fn set_check(pending: Check) {
    let _ = CHECK.set(pending);
}

/// [`Error::Interrupted`] when an interrupt is pending.
pub fn check() -> Result<()> {
    match CHECK.get() {
        Some(pending) if pending() => Err(Error::Interrupted),
        _ => Ok(()),
    }
}
