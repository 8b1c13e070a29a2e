//! GPT-2's pre-tokenizer, written out: the pieces its regular expression
//! `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
//! finds, and the byte-to-character map of byte-level BPE.

use unicode_general_category::{get_general_category, GeneralCategory as G};

fn is_letter(c: char) -> bool {
    matches!(
        get_general_category(c),
        G::UppercaseLetter
            | G::LowercaseLetter
            | G::TitlecaseLetter
            | G::ModifierLetter
            | G::OtherLetter
    )
}

fn is_number(c: char) -> bool {
    matches!(
        get_general_category(c),
        G::DecimalNumber | G::LetterNumber | G::OtherNumber
    )
}

#[derive(Clone, Copy, PartialEq)]
enum Class {
    Letter,
    Number,
    Space,
    Other,
}

fn class(c: char) -> Class {
    if c.is_ascii() {
        // The common case without a table lookup.
        return match c {
            'a'..='z' | 'A'..='Z' => Class::Letter,
            '0'..='9' => Class::Number,
            ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c' => Class::Space,
            _ => Class::Other,
        };
    }
    if c.is_whitespace() {
        Class::Space
    } else if is_letter(c) {
        Class::Letter
    } else if is_number(c) {
        Class::Number
    } else {
        Class::Other
    }
}

const CONTRACTIONS: [&str; 7] = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];

/// End (byte offset) of the run of characters of class `k` starting at `at`.
fn run_end(s: &str, at: usize, k: Class) -> usize {
    s[at..]
        .char_indices()
        .find(|&(_, c)| class(c) != k)
        .map_or(s.len(), |(i, _)| at + i)
}

/// End of the piece that starts at byte `at` (`at < s.len()`).
fn piece_end(s: &str, at: usize) -> usize {
    let rest = &s[at..];
    if rest.starts_with('\'') {
        if let Some(c) = CONTRACTIONS.iter().find(|c| rest.starts_with(*c)) {
            return at + c.len();
        }
    }
    let mut chars = rest.chars();
    let first = chars.next().expect("a piece starts before the end");
    // ` ?X+` for letters, numbers and the rest: an optional plain space, then a run.
    let (body, k) = match class(first) {
        Class::Space if first == ' ' => match chars.next().map(class) {
            Some(k) if k != Class::Space => (at + 1, k),
            _ => (at, Class::Space),
        },
        k => (at, k),
    };
    if k != Class::Space {
        return run_end(s, body, k);
    }
    // `\s+(?!\S)|\s+`: a run of white space that leaves its last character to the word
    // after it, unless the run is that one character.
    let end = run_end(s, at, Class::Space);
    if end == s.len() {
        return end;
    }
    let last = s[..end].chars().next_back().map_or(0, char::len_utf8);
    if end - last > at {
        end - last
    } else {
        end
    }
}

/// The pieces of `s`, in order; they cover it exactly.
pub fn gpt2_pieces(s: &str) -> impl Iterator<Item = &str> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= s.len() {
            return None;
        }
        let end = piece_end(s, at);
        let piece = &s[at..end];
        at = end;
        Some(piece)
    })
}

/// The character byte-level BPE writes for byte `b` (GPT-2's `bytes_to_unicode`):
/// printable Latin-1 stands for itself, the other bytes take 256, 257, ... in order.
pub fn byte_to_char(b: u8) -> char {
    let printable = |x: u8| matches!(x, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    if printable(b) {
        return char::from(b);
    }
    let shifted = (0..b).filter(|&x| !printable(x)).count() as u32;
    char::from_u32(256 + shifted).expect("below 512")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(s: &str) -> Vec<&str> {
        gpt2_pieces(s).collect()
    }

    #[test]
    fn splits_like_gpt2s_expression() {
        assert_eq!(pieces("Hello world"), ["Hello", " world"]);
        assert_eq!(
            pieces("I'm here, aren't we?"),
            ["I", "'m", " here", ",", " aren", "'t", " we", "?"]
        );
        assert_eq!(pieces("a   b"), ["a", "  ", " b"]);
        assert_eq!(pieces("a\n\nb"), ["a", "\n", "\n", "b"]);
        assert_eq!(pieces("x  "), ["x", "  "]);
        assert_eq!(pieces(" 42 ''s"), [" 42", " ''", "s"]);
        assert_eq!(pieces("é\u{a0}ü"), ["é", "\u{a0}", "ü"]);
        assert_eq!(pieces("\n\nHuman: hi"), ["\n", "\n", "Human", ":", " hi"]);
    }

    #[test]
    fn byte_map_is_gpt2s() {
        assert_eq!(byte_to_char(b'A'), 'A');
        assert_eq!(byte_to_char(b' '), '\u{120}');
        assert_eq!(byte_to_char(b'\n'), '\u{10a}');
        assert_eq!(byte_to_char(0), '\u{100}');
        assert_eq!(byte_to_char(0xAD), '\u{143}');
    }
}
