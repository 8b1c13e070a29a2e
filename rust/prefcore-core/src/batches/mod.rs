//! Token bookkeeping for trainers: cutting tokenized pairs to a length budget, and
//! collating batches of them into padded or packed (padding-free) tensors.
//!
//! Everything works on `list<int32>` token columns read in place; a batch is a list of
//! row indices into them, so a DataLoader never copies the dataset to build a batch.

pub mod collate;
pub mod prefix;
pub mod tokens;
pub mod truncate;

pub use collate::{CollateOptions, Packed, Padded, Sequence};
pub use tokens::TokenLists;
