//! Preference data: from scored, ranked or voted completions to training rows.

pub mod construct;
pub mod listwise;
mod masks;
pub mod table;
pub mod transcript;

pub use construct::{PairOptions, PairStats, ShortGroups, Strategy, TextLayout, Ties};
pub use table::pair_table;
pub use transcript::{
    extract_prompt, parse_transcripts, render_transcripts, Roles, Split, SplitFailure,
};
