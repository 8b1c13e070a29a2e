//! Degenerate preference pairs: chosen equal to rejected, or either side empty,
//! after normalisation.

use rayon::prelude::*;

use super::normalize::Normalizer;
use super::text::TextColumn;
use crate::error::{Error, Result};
use crate::parallel;

/// Why a pair is degenerate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Degenerate {
    BothEmpty,
    EmptyChosen,
    EmptyRejected,
    Identical,
}

impl Degenerate {
    pub fn as_str(self) -> &'static str {
        match self {
            Degenerate::BothEmpty => "both_empty",
            Degenerate::EmptyChosen => "empty_chosen",
            Degenerate::EmptyRejected => "empty_rejected",
            Degenerate::Identical => "identical",
        }
    }
}

/// The reason each row is degenerate, or `None` for a usable pair.
pub fn degenerate_pairs(
    chosen: &TextColumn,
    rejected: &TextColumn,
    normalizer: Option<&Normalizer>,
) -> Result<Vec<Option<Degenerate>>> {
    if chosen.len() != rejected.len() {
        return Err(Error::argument(format!(
            "columns '{}' ({} rows) and '{}' ({} rows) differ in length",
            chosen.name(),
            chosen.len(),
            rejected.name(),
            rejected.len()
        )));
    }
    let (c, r) = (chosen.reader(), rejected.reader());
    let normalized = |text: &str, out: &mut String| {
        out.clear();
        match normalizer {
            Some(n) => n.normalize_into(text, out),
            None => out.push_str(text),
        }
    };
    Ok(parallel::install(|| {
        (0..chosen.len())
            .into_par_iter()
            .map_init(
                || (String::new(), String::new(), String::new(), String::new()),
                |(rc, rr, nc, nr), row| {
                    normalized(c.get(row, rc), nc);
                    normalized(r.get(row, rr), nr);
                    match (nc.is_empty(), nr.is_empty()) {
                        (true, true) => Some(Degenerate::BothEmpty),
                        (true, false) => Some(Degenerate::EmptyChosen),
                        (false, true) => Some(Degenerate::EmptyRejected),
                        _ if nc == nr => Some(Degenerate::Identical),
                        _ => None,
                    }
                },
            )
            .collect()
    }))
}
