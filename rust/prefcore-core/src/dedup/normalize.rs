//! The one text normaliser every dedup function uses.
//!
//! Steps, in this order: Unicode normalisation (NFKC by default), lowercasing (full
//! Unicode case mapping), dropping punctuation (Unicode categories P*), mapping decimal
//! digits (category Nd) to `0`, and collapsing runs of whitespace to one space with the
//! ends trimmed.

use std::sync::Arc;

use arrow_array::{ArrayRef, LargeStringArray, StringArray};
use unicode_general_category::{get_general_category, GeneralCategory as Gc};
use unicode_normalization::UnicodeNormalization;

use super::text::TextColumn;
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

/// The forms by name (any case; `None` is given as Python's `None`).
impl crate::error::OptionValues for UnicodeForm {
    const ARGUMENT: &'static str = "unicode";
    const VALUES: &'static [&'static str] = &["NFC", "NFKC", "NFD", "NFKD"];
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
            _ => Err(Error::bad_argument(
                "unicode",
                format!("unicode must be one of NFC, NFKC, NFD, NFKD or None, not '{s}'"),
            )),
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

    /// An ASCII character: single-byte tests only.
    #[inline(always)]
    fn push_ascii(&mut self, b: u8) {
        if self.n.strip_punctuation && ASCII_PUNCTUATION[b as usize] {
            return;
        }
        let b = if self.n.digits_to_zero && b.is_ascii_digit() {
            b'0'
        } else {
            b
        };
        // `char::is_whitespace` on ASCII, which unlike `u8::is_ascii_whitespace`
        // counts \x0B.
        if self.n.collapse_whitespace && matches!(b, b'\t'..=b'\r' | b' ') {
            self.pending_space = true;
            return;
        }
        self.flush_space();
        self.out.push(b as char);
    }

    /// Any character (the Unicode tables are consulted only outside ASCII).
    #[inline]
    fn push(&mut self, c: char) {
        if c.is_ascii() {
            return self.push_ascii(c as u8);
        }
        if self.n.strip_punctuation && is_punctuation(c) {
            return;
        }
        let c = if self.n.digits_to_zero && get_general_category(c) == Gc::DecimalNumber {
            '0'
        } else {
            c
        };
        if self.n.collapse_whitespace && c.is_whitespace() {
            self.pending_space = true;
            return;
        }
        self.flush_space();
        self.out.push(c);
    }

    /// Appends 16 ASCII bytes at once when no step but lowercasing changes them (no
    /// punctuation or digit rule on; with whitespace collapsing, no whitespace but
    /// single spaces, and none where a space would be dropped: at the start of the
    /// output or next to a pending one). A final space becomes the pending one.
    /// Returns whether it did; the tests are written to vectorise.
    #[inline(always)]
    fn push_plain(&mut self, chunk: &[u8; PLAIN], lowercase: bool) -> bool {
        if self.n.strip_punctuation || self.n.digits_to_zero {
            return false;
        }
        let ascii = chunk.iter().fold(0u8, |a, &b| a | b) < 0x80;
        if !ascii {
            return false;
        }
        let mut len = PLAIN;
        if self.n.collapse_whitespace {
            let other_space = chunk
                .iter()
                .fold(false, |a, &b| a | (b'\t'..=b'\r').contains(&b));
            let double = chunk
                .windows(2)
                .fold(false, |a, w| a | ((w[0] == b' ') & (w[1] == b' ')));
            let leading = chunk[0] == b' ' && (self.pending_space || self.out.is_empty());
            if other_space || double || leading {
                return false;
            }
            self.flush_space();
            if chunk[PLAIN - 1] == b' ' {
                len -= 1;
            }
        }
        let mut cased = *chunk;
        if lowercase {
            for b in cased.iter_mut() {
                *b |= ((b.wrapping_sub(b'A') < 26) as u8) << 5;
            }
        }
        // The bytes are ASCII, so valid UTF-8 on their own.
        self.out
            .push_str(std::str::from_utf8(&cased[..len]).expect("ASCII is UTF-8"));
        self.pending_space = len < PLAIN;
        true
    }

    #[inline(always)]
    fn flush_space(&mut self) {
        if self.pending_space {
            if !self.out.is_empty() {
                self.out.push(' ');
            }
            self.pending_space = false;
        }
    }
}

/// Bytes per step of [`Fold::push_plain`].
const PLAIN: usize = 16;

/// Which ASCII characters are Unicode punctuation (categories P*; `$+<=>^`|~` are
/// symbols, not punctuation).
static ASCII_PUNCTUATION: [bool; 128] = {
    let mut table = [false; 128];
    let marks = b"!\"#%&'()*,-./:;?@[\\]_{}";
    let mut i = 0;
    while i < marks.len() {
        table[marks[i] as usize] = true;
        i += 1;
    }
    table
};

impl Normalizer {
    /// Append the normalised `text` to `out`.
    pub fn normalize_into(&self, text: &str, out: &mut String) {
        use unicode_normalization::{
            is_nfc_quick, is_nfd_quick, is_nfkc_quick, is_nfkd_quick, IsNormalized,
        };
        // Every normal form leaves ASCII as it is, and most other text is already in
        // the requested form: the quick check proves it without building a copy.
        let normal = |check: IsNormalized| check == IsNormalized::Yes;
        let formed: std::borrow::Cow<str> = match self.unicode {
            _ if text.is_ascii() => text.into(),
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
        out.reserve(formed.len());
        if self.lowercase && formed.contains('Σ') {
            // Only capital sigma lowercases by context (word-final Σ becomes ς): the
            // whole-string mapping applies that rule.
            self.fold(&formed.to_lowercase(), false, out);
        } else {
            self.fold(&formed, self.lowercase, out);
        }
    }

    /// Lowercase (per character) and fold `text`, walking its bytes: ASCII bytes take
    /// the single-byte path, other characters are decoded one at a time.
    fn fold(&self, text: &str, lowercase: bool, out: &mut String) {
        let mut fold = Fold::new(self, out);
        let bytes = text.as_bytes();
        let mut at = 0;
        // Runs of plain ASCII go 16 bytes at a time; the rest a character at a time,
        // up to the next 16-byte boundary.
        let mut plain_until = 0;
        while at < bytes.len() {
            if at >= plain_until {
                if let Some(chunk) = bytes.get(at..at + PLAIN) {
                    let chunk: &[u8; PLAIN] = chunk.try_into().expect("16 bytes");
                    if fold.push_plain(chunk, lowercase) {
                        at += PLAIN;
                        continue;
                    }
                }
                plain_until = at + PLAIN;
            }
            let b = bytes[at];
            if b.is_ascii() {
                fold.push_ascii(if lowercase { b.to_ascii_lowercase() } else { b });
                at += 1;
                continue;
            }
            let c = text[at..].chars().next().expect("a character starts here");
            at += c.len_utf8();
            if lowercase {
                c.to_lowercase().for_each(|l| fold.push(l));
            } else {
                fold.push(c);
            }
        }
    }

    /// The normalised `text` as a new string.
    pub fn normalize(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        self.normalize_into(text, &mut out);
        out
    }

    /// Every row of `column` normalised, in parallel (Ctrl-C noticed between waves),
    /// as a `utf8` array, or `large_utf8` when the text outgrows 32-bit offsets.
    pub fn normalize_column(&self, column: &TextColumn) -> Result<ArrayRef> {
        let reader = column.reader();
        crate::progress::stage("normalizing");
        let values: Vec<String> =
            crate::parallel::map_init_interruptible(column.len(), String::new, |buf, row| {
                self.normalize(reader.get(row, buf))
            })?;
        let total: usize = values.iter().map(String::len).sum();
        Ok(if total < i32::MAX as usize {
            Arc::new(StringArray::from(values))
        } else {
            Arc::new(LargeStringArray::from(values))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_is_normalised_row_by_row_in_order() {
        use arrow_array::cast::AsArray;
        let texts = ["  Héllo   World ", "ＡＢＣ", "", "x\ty"];
        let array: ArrayRef = Arc::new(StringArray::from(texts.to_vec()));
        let column = TextColumn::new("texts", &array).unwrap();
        let n = Normalizer::default();
        let out = n.normalize_column(&column).unwrap();
        let got: Vec<&str> = out.as_string::<i32>().iter().map(Option::unwrap).collect();
        let want: Vec<String> = texts.iter().map(|t| n.normalize(t)).collect();
        assert_eq!(got, want);
        assert_eq!(got, ["héllo world", "abc", "", "x y"]);
    }

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
        fn ascii_text_follows_the_definition(
            text in "([A-Za-z]{1,6} {1,2}|[ -~\t\n\x0B\x0C\r]){0,60}",
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
            proptest::prop_assert_eq!(n.normalize(&text), reference(&n, &text));
        }
    }

    /// The plain definition: form the whole text, lowercase the whole text, then fold
    /// character by character, each looked up in the Unicode tables.
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
        let mut pending_space = false;
        for c in cased.chars() {
            if n.strip_punctuation && is_punctuation(c) {
                continue;
            }
            let digit = get_general_category(c) == Gc::DecimalNumber;
            let c = if n.digits_to_zero && digit { '0' } else { c };
            if n.collapse_whitespace && c.is_whitespace() {
                pending_space = true;
                continue;
            }
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c);
        }
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
