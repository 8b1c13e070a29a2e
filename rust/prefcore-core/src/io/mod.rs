//! Readers of the text formats the field uses.

pub mod trec;
