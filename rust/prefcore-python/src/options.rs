//! The option vocabularies of the core, listed for Python: what the package's stubs
//! and `Literal`s are checked against, so an option value is defined once, in the core.

use prefcore_core::batches::collate::PairLayout;
use prefcore_core::batches::truncate::Keep as Truncation;
use prefcore_core::dedup::{self, UnicodeForm};
use prefcore_core::metrics::{correlation, grouped, preference, significance};
use prefcore_core::{matching, pairs, OptionValues};
use pyo3::prelude::*;

/// One option type of the core: its name (the stubs' alias is `_<name>`), the argument
/// it is given as, and every value it accepts.
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct OptionVocabulary {
    name: &'static str,
    argument: &'static str,
    values: Vec<&'static str>,
}

#[pymethods]
impl OptionVocabulary {
    fn __repr__(&self) -> String {
        format!(
            "OptionVocabulary({}: {} in {:?})",
            self.name, self.argument, self.values
        )
    }
}

fn vocabulary<T: OptionValues>(name: &'static str) -> OptionVocabulary {
    OptionVocabulary {
        name,
        argument: T::ARGUMENT,
        values: T::VALUES.to_vec(),
    }
}

/// Every option vocabulary the binding converts at its boundary.
#[pyfunction]
pub fn option_vocabularies() -> Vec<OptionVocabulary> {
    vec![
        vocabulary::<PairLayout>("PairLayout"),
        vocabulary::<Truncation>("Truncation"),
        vocabulary::<dedup::Keep>("Keep"),
        vocabulary::<dedup::Method>("ContaminationMethod"),
        vocabulary::<dedup::Tokenizer>("Tokenizer"),
        vocabulary::<UnicodeForm>("UnicodeForm"),
        vocabulary::<matching::Metric>("Metric"),
        vocabulary::<matching::Method>("MatchMethod"),
        vocabulary::<correlation::Method>("CorrelationMethod"),
        vocabulary::<correlation::TauVariant>("TauVariant"),
        vocabulary::<grouped::Ties>("GroupedTies"),
        vocabulary::<preference::TiePolicy>("PreferenceTies"),
        vocabulary::<significance::Test>("Test"),
        vocabulary::<pairs::ShortGroups>("ShortGroups"),
        vocabulary::<pairs::Strategy>("Strategy"),
        vocabulary::<pairs::TextLayout>("Texts"),
        vocabulary::<pairs::Ties>("PairTies"),
    ]
}
