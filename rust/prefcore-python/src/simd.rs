//! The SIMD level switch: `PREFCORE_SIMD` at import, and the functions behind
//! `prefcore.simd_level` / `prefcore.simd_levels` / `prefcore.force_simd_level`.

use prefcore_core::simd::{self, Level};
use pyo3::prelude::*;

/// Pins the level called `name` (empty or `auto`: the best the CPU runs).
fn force_named(name: &str) -> Result<(), String> {
    let level = match name.trim() {
        "" => None,
        n if n.eq_ignore_ascii_case("auto") => None,
        n => Some(Level::parse(n).ok_or_else(|| {
            format!("unknown SIMD level {name:?}; expected one of auto, baseline, avx2, avx512")
        })?),
    };
    simd::force(level).map_err(|e| e.to_string())
}

/// Applies `PREFCORE_SIMD` where it is set.
pub fn apply_environment() -> PyResult<()> {
    match std::env::var("PREFCORE_SIMD") {
        Ok(name) => force_named(&name).map_err(|e| {
            crate::errors::invalid_argument("PREFCORE_SIMD", format!("PREFCORE_SIMD={name}: {e}"))
        }),
        Err(_) => Ok(()),
    }
}

/// The SIMD level the kernels run now.
#[pyfunction]
pub fn simd_level() -> &'static str {
    simd::level().name()
}

/// Every SIMD level this CPU runs, lowest first.
#[pyfunction]
pub fn simd_levels() -> Vec<&'static str> {
    simd::supported().into_iter().map(Level::name).collect()
}

/// Pins the SIMD level (`None` or `"auto"`: the best the CPU runs).
#[pyfunction]
#[pyo3(signature = (level))]
pub fn force_simd_level(level: Option<&str>) -> PyResult<()> {
    force_named(level.unwrap_or("auto")).map_err(|e| crate::errors::invalid_argument("level", e))
}
