//! The one text normaliser every dedup function uses.
//!
//! Steps, in this order: Unicode normalisation (NFKC by default), lowercasing (full
//! Unicode case mapping), dropping punctuation (Unicode categories P*), mapping decimal
//! digits (category Nd) to `0`, and collapsing runs of whitespace to one space with the
//! ends trimmed.

use unicode_general_category::{get_general_category, GeneralCategory as Gc};
use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};

/// Which Unicode normalisation form to apply first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnicodeForm {
    None,
    Nfc,
    Nfkc,
    Nfd,
    Nfkd,
}

impl std::str::FromStr for UnicodeForm {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_uppercase().as_str() {
            "NONE" | "" => Ok(UnicodeForm::None),
            "NFC" => Ok(UnicodeForm::Nfc),
            "NFKC" => Ok(UnicodeForm::Nfkc),
            "NFD" => Ok(UnicodeForm::Nfd),
            "NFKD" => Ok(UnicodeForm::Nfkd),
            _ => Err(Error::argument(format!(
                "unicode must be one of NFC, NFKC, NFD, NFKD or None, not '{s}'"
            ))),
        }
    }
}

/// Normalisation options (see the module docs for the order of the steps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Normalizer {
    pub lowercase: bool,
    pub unicode: UnicodeForm,
    pub collapse_whitespace: bool,
    pub strip_punctuation: bool,
    pub digits_to_zero: bool,
}

impl Default for Normalizer {
    fn default() -> Self {
        Normalizer {
            lowercase: true,
            unicode: UnicodeForm::Nfkc,
            collapse_whitespace: true,
            strip_punctuation: false,
            digits_to_zero: false,
        }
    }
}

fn is_punctuation(c: char) -> bool {
    matches!(
        get_general_category(c),
        Gc::ConnectorPunctuation
            | Gc::DashPunctuation
            | Gc::OpenPunctuation
            | Gc::ClosePunctuation
            | Gc::InitialPunctuation
            | Gc::FinalPunctuation
            | Gc::OtherPunctuation
    )
}

impl Normalizer {
    /// Append the normalised `text` to `out`.
    pub fn normalize_into(&self, text: &str, out: &mut String) {
        let formed: std::borrow::Cow<str> = match self.unicode {
            UnicodeForm::None => text.into(),
            UnicodeForm::Nfc => text.nfc().collect::<String>().into(),
            UnicodeForm::Nfkc => text.nfkc().collect::<String>().into(),
            UnicodeForm::Nfd => text.nfd().collect::<String>().into(),
            UnicodeForm::Nfkd => text.nfkd().collect::<String>().into(),
        };
        // Whole-string lowercasing applies context rules (a word-final Σ becomes ς).
        let cased: std::borrow::Cow<str> = if self.lowercase {
            formed.to_lowercase().into()
        } else {
            formed
        };
        let chars = cased.chars();
        // In collapse mode a whitespace run is written as one space, and only when a
        // non-space character follows (so the ends come out trimmed).
        let mut pending_space = false;
        for c in chars {
            if self.strip_punctuation && is_punctuation(c) {
                continue;
            }
            let c = if self.digits_to_zero && get_general_category(c) == Gc::DecimalNumber {
                '0'
            } else {
                c
            };
            if self.collapse_whitespace && c.is_whitespace() {
                pending_space = true;
                continue;
            }
            if pending_space {
                if !out.is_empty() {
                    out.push(' ');
                }
                pending_space = false;
            }
            out.push(c);
        }
    }

    /// The normalised `text` as a new string.
    pub fn normalize(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        self.normalize_into(text, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fold_width_case_and_space() {
        let n = Normalizer::default();
        // NFKC folds the full-width letters and the ligature; lowercasing follows.
        assert_eq!(
            n.normalize("  Ｈｅｌｌｏ\t\n ﬁne  WORLD "),
            "hello fine world"
        );
        assert_eq!(n.normalize(""), "");
        assert_eq!(n.normalize(" \t "), "");
        assert_eq!(n.normalize("İ"), "i\u{307}");
        assert_eq!(n.normalize("ΟΔΟΣ ΟΔΟΣ"), "οδος οδος"); // final sigma
    }

    #[test]
    fn punctuation_and_digits() {
        let n = Normalizer {
            strip_punctuation: true,
            digits_to_zero: true,
            ..Normalizer::default()
        };
        assert_eq!(
            n.normalize("Wait... 42 «quoted» — ok?"),
            "wait 00 quoted ok"
        );
        assert_eq!(n.normalize("٣ apples"), "0 apples"); // Arabic-Indic digit three
        assert_eq!(n.normalize("emoji 🙂 stays, 中文。"), "emoji 🙂 stays 中文");
    }

    #[test]
    fn everything_off_is_the_identity() {
        let n = Normalizer {
            lowercase: false,
            unicode: UnicodeForm::None,
            collapse_whitespace: false,
            strip_punctuation: false,
            digits_to_zero: false,
        };
        let text = "  Mixed\tCASE ﬁ  ";
        assert_eq!(n.normalize(text), text);
    }
}
