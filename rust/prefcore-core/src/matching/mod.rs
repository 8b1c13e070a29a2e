//! Embedding matching: exact k-nearest-neighbour and range search over dense float32
//! matrices.

pub mod knn;

pub use knn::{knn, range_search, Matrix, Metric};
