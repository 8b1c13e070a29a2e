//! Dedup of preference data: one normaliser, exact duplicates of column tuples,
//! degenerate pairs and MinHash signatures. Every function reports per row; nothing is dropped here.

pub mod bands;
pub mod contamination;
pub mod degenerate;
pub mod exact;
pub mod lsh;
pub mod minhash;
pub mod normalize;
pub mod stream;
pub mod text;

pub use bands::optimal_bands;
pub use contamination::{contamination, Method, Overlap};
pub use degenerate::{degenerate_pairs, Degenerate};
pub use exact::{exact, row_hashes, Clusters, Keep};
pub use lsh::{band_keys, clusters_from_pairs, near_duplicates, LshResult, NearOptions};
pub use minhash::{signatures, MinHashOptions, Tokenizer};
pub use normalize::{Normalizer, UnicodeForm};
pub use stream::{ExactStream, NearStream};
pub use text::TextColumn;
