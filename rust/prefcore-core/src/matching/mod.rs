//! Embedding matching: exact k-nearest-neighbour search over dense float32 matrices.

pub mod knn;

pub use knn::{knn, Matrix, Metric};
