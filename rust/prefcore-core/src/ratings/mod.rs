//! Ratings from comparisons and votes: Bradley-Terry strengths over battles, and
//! consensus plus agreement over several annotators' votes.
//!
//! ```
//! use prefcore_core::ratings::{aggregate_votes, VoteMethod, Votes};
//! // Two items, three annotators, two classes: item 0 is 2:1 for class 1.
//! let votes = Votes {
//!     item: &[0, 0, 0, 1, 1],
//!     annotator: &[0, 1, 2, 0, 1],
//!     class: &[1, 1, 0, 0, 0],
//!     n_items: 2,
//!     n_annotators: 3,
//!     n_classes: 2,
//! };
//! let summary = aggregate_votes(&votes, VoteMethod::Majority).unwrap();
//! assert_eq!(summary.consensus.class, vec![Some(1), Some(0)]);
//! assert_eq!(summary.iterations, 0);
//! ```

pub mod arena;
pub mod battle_codes;
pub mod bradley_terry;
pub mod elo;
pub mod sandwich;
pub mod votes;

pub use bradley_terry::{Battles, FitOptions};
pub use votes::{Agreement, Consensus, Votes};

use crate::error::Result;

/// How the consensus class of an item is chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum VoteMethod {
    /// The most voted class; a tie gives no consensus.
    Majority,
    /// Dawid-Skene EM over per-annotator confusion matrices, stopped after
    /// `max_iterations` or once no posterior moves by more than `tolerance`.
    DawidSkene {
        max_iterations: usize,
        tolerance: f64,
    },
}

impl VoteMethod {
    /// Dawid-Skene with the defaults the Python API uses (200 rounds, 1e-8).
    pub const DAWID_SKENE: VoteMethod = VoteMethod::DawidSkene {
        max_iterations: 200,
        tolerance: 1e-8,
    };
}

/// Everything [`aggregate_votes`] measures.
#[derive(Clone, Debug, PartialEq)]
pub struct VoteSummary {
    pub consensus: Consensus,
    pub agreement: Agreement,
    /// Per annotator: (votes cast, share equal to the consensus).
    pub annotators: Vec<(u32, f64)>,
    /// EM rounds run (0 for majority).
    pub iterations: usize,
}

/// Consensus, agreement and per-annotator agreement of coded votes.
pub fn aggregate_votes(votes: &Votes<'_>, method: VoteMethod) -> Result<VoteSummary> {
    let counts = votes.counts()?;
    let (consensus, iterations) = match method {
        VoteMethod::Majority => (votes.majority(&counts), 0),
        VoteMethod::DawidSkene {
            max_iterations,
            tolerance,
        } => votes.dawid_skene(&counts, max_iterations, tolerance),
    };
    let agreement = votes.agreement(&counts);
    let annotators = votes.annotator_agreement(&consensus.class);
    Ok(VoteSummary {
        consensus,
        agreement,
        annotators,
        iterations,
    })
}

/// Bradley-Terry strengths with their uncertainty.
#[derive(Clone, Debug, PartialEq)]
pub struct Ratings {
    /// Log-strength per item.
    pub theta: Vec<f64>,
    /// Variance of θ minus the reference item's θ (or the mean θ when none).
    pub variance: Vec<f64>,
    /// θ per bootstrap round (empty when no bootstrap was asked for).
    pub bootstrap: Vec<Vec<f64>>,
}

/// Fits Bradley-Terry to the battles, with variances and `bootstrap` resampled fits.
pub fn bradley_terry(
    battles: &Battles<'_>,
    options: &FitOptions,
    reference: Option<usize>,
    bootstrap: usize,
    seed: u64,
) -> Result<Ratings> {
    let wins = bradley_terry::win_matrix(battles, |k| k);
    let theta = bradley_terry::fit(&wins, battles.n_items, options)?;
    let variance = bradley_terry::variances(&theta, &wins, options.alpha, reference);
    let bootstrap = bradley_terry::bootstrap(battles, options, bootstrap, seed)?;
    Ok(Ratings {
        theta,
        variance,
        bootstrap,
    })
}
