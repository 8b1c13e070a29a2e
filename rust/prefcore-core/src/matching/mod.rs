//! Embedding matching: exact k-nearest-neighbour and range search over dense float32
//! matrices.

pub mod assign;
pub mod knn;

pub use assign::{assign, csls, match_sets, Method};
pub use knn::{knn, range_search, self_pairs, similarities, Matrix, Metric};
