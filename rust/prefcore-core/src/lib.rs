//! prefcore-core: the algorithms behind the `prefcore` Python package, over Arrow
//! buffers and plain slices. No Python here; `prefcore-python` only converts
//! arguments, releases the GIL and maps [`Error`] to Python exceptions.

pub mod alloc;
pub mod batches;
pub mod columns;
pub mod dedup;
pub mod error;
pub mod gather;
pub mod glm;
pub mod interrupt;
pub mod io;
pub mod keys;
pub mod matching;
pub mod metrics;
pub mod numeric;
pub mod pairs;
pub mod parallel;
pub mod progress;
pub mod random;
pub mod ratings;
pub mod simd;
pub mod staggered;
pub mod tokenize;
pub mod utf8;

pub use error::{Error, OptionValues, Result};
