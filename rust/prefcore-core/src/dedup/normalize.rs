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

/// The punctuation, digit and whitespace steps, one already cased character at a time.
struct Fold<'a> {
    n: &'a Normalizer,
    out: &'a mut String,
    /// In collapse mode a whitespace run is written as one space, and only when a
    /// non-space character follows (so the ends come out trimmed).
    pending_space: bool,
}

impl<'a> Fold<'a> {
    fn new(n: &'a Normalizer, out: &'a mut String) -> Self {
        Fold {
            n,
            out,
            pending_space: false,
        }
    }

    #[inline]
    fn push(&mut self, c: char) {
        if self.n.strip_punctuation && is_punctuation(c) {
            return;
        }
        let digit = |c: char| {
            c.is_ascii_digit() || (!c.is_ascii() && get_general_category(c) == Gc::DecimalNumber)
        };
        let c = if self.n.digits_to_zero && digit(c) {
            '0'
        } else {
            c
        };
        // `char::is_whitespace`, which unlike `u8::is_ascii_whitespace` counts \x0B.
        if self.n.collapse_whitespace && c.is_whitespace() {
            self.pending_space = true;
            return;
        }
        if self.pending_space {
            if !self.out.is_empty() {
                self.out.push(' ');
            }
            self.pending_space = false;
        }
        self.out.push(c);
    }
}

impl Normalizer {
    /// Append the normalised `text` to `out`.
    pub fn normalize_into(&self, text: &str, out: &mut String) {
        if text.is_ascii() {
            self.normalize_ascii(text.as_bytes(), out)
        } else {
            self.normalize_unicode(text, out)
        }
    }

    /// [`Normalizer::normalize_into`] for ASCII text, byte by byte: every Unicode
    /// normal form leaves ASCII as it is, and its case, digit, punctuation and space
    /// rules are single-byte ones. Most preference data is ASCII, and the general path
    /// builds two intermediate strings.
    fn normalize_ascii(&self, text: &[u8], out: &mut String) {
        out.reserve(text.len());
        let mut fold = Fold::new(self, out);
        for &b in text {
            let b = if self.lowercase {
                b.to_ascii_lowercase()
            } else {
                b
            };
            fold.push(b as char);
        }
    }

    fn normalize_unicode(&self, text: &str, out: &mut String) {
        use unicode_normalization::{
            is_nfc_quick, is_nfd_quick, is_nfkc_quick, is_nfkd_quick, IsNormalized,
        };
        // Most text is already in the requested form: the quick check proves it
        // without building a copy.
        let normal = |check: IsNormalized| check == IsNormalized::Yes;
        let formed: std::borrow::Cow<str> = match self.unicode {
            UnicodeForm::None => text.into(),
            UnicodeForm::Nfc if normal(is_nfc_quick(text.chars())) => text.into(),
            UnicodeForm::Nfkc if normal(is_nfkc_quick(text.chars())) => text.into(),
            UnicodeForm::Nfd if normal(is_nfd_quick(text.chars())) => text.into(),
            UnicodeForm::Nfkd if normal(is_nfkd_quick(text.chars())) => text.into(),
            UnicodeForm::Nfc => text.nfc().collect::<String>().into(),
            UnicodeForm::Nfkc => text.nfkc().collect::<String>().into(),
            UnicodeForm::Nfd => text.nfd().collect::<String>().into(),
            UnicodeForm::Nfkd => text.nfkd().collect::<String>().into(),
        };
        let mut fold = Fold::new(self, out);
        if !self.lowercase {
            formed.chars().for_each(|c| fold.push(c));
        } else if formed.contains('Σ') {
            // Only capital sigma lowercases by context (word-final Σ becomes ς): the
            // whole-string mapping applies that rule.
            formed.to_lowercase().chars().for_each(|c| fold.push(c));
        } else {
            for c in formed.chars() {
                if c.is_ascii() {
                    fold.push(c.to_ascii_lowercase());
                } else {
                    c.to_lowercase().for_each(|l| fold.push(l));
                }
            }
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

    proptest::proptest! {
        #[test]
        fn the_ascii_path_equals_the_general_one(
            text in "[ -~\t\n\x0B\x0C\r]{0,40}",
            flags in 0u8..32,
        ) {
            let bit = |i: u8| flags & (1 << i) != 0;
            let n = Normalizer {
                lowercase: bit(0),
                unicode: if bit(1) { UnicodeForm::Nfkc } else { UnicodeForm::None },
                collapse_whitespace: bit(2),
                strip_punctuation: bit(3),
                digits_to_zero: bit(4),
            };
            let (mut fast, mut general) = (String::new(), String::new());
            n.normalize_ascii(text.as_bytes(), &mut fast);
            n.normalize_unicode(&text, &mut general);
            proptest::prop_assert_eq!(fast, general);
        }
    }

    /// The plain definition: form the whole text, lowercase the whole text, then fold.
    fn reference(n: &Normalizer, text: &str) -> String {
        let formed: String = match n.unicode {
            UnicodeForm::None => text.to_string(),
            UnicodeForm::Nfc => text.nfc().collect(),
            UnicodeForm::Nfkc => text.nfkc().collect(),
            UnicodeForm::Nfd => text.nfd().collect(),
            UnicodeForm::Nfkd => text.nfkd().collect(),
        };
        let cased = if n.lowercase {
            formed.to_lowercase()
        } else {
            formed
        };
        let mut out = String::new();
        let mut fold = Fold::new(n, &mut out);
        cased.chars().for_each(|c| fold.push(c));
        out
    }

    proptest::proptest! {
        #[test]
        fn streaming_equals_the_whole_string_definition(
            text in "(\\PC|\\s|Σ|ΟΔΟΣ|ﬁ|Ｈ|İ|é|e\u{301}){0,30}",
            flags in 0u8..32,
            form in 0usize..5,
        ) {
            let bit = |i: u8| flags & (1 << i) != 0;
            let forms = [
                UnicodeForm::None,
                UnicodeForm::Nfc,
                UnicodeForm::Nfkc,
                UnicodeForm::Nfd,
                UnicodeForm::Nfkd,
            ];
            let n = Normalizer {
                lowercase: bit(0),
                unicode: forms[form],
                collapse_whitespace: bit(2),
                strip_punctuation: bit(3),
                digits_to_zero: bit(4),
            };
            proptest::prop_assert_eq!(n.normalize(&text), reference(&n, &text));
        }
    }
}
