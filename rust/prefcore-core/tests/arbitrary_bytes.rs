//! Property tests over arbitrary bytes and sizes for the parsers and text kernels:
//! whatever comes in, the answer is a value or an error, never a panic, and text that
//! is not UTF-8 is refused where it enters (`columns::concat_chunks`).

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, StringArray};
use arrow_buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use prefcore_core::batches::collate::{pack, pad};
use prefcore_core::batches::truncate::Keep;
use prefcore_core::batches::{CollateOptions, Sequence};
use prefcore_core::columns::concat_chunks;
use prefcore_core::dedup::minhash::shingle_hashes;
use prefcore_core::dedup::{Normalizer, Tokenizer, UnicodeForm};
use prefcore_core::io::trec::{parse_qrels, parse_run, read_qrels};
use prefcore_core::pairs::{parse_transcripts, Roles};
use proptest::prelude::*;

/// A `string` column over raw bytes, unchecked, as one arrives through the C data
/// interface from pyarrow's JSON reader.
fn raw_strings(values: &[Vec<u8>]) -> ArrayRef {
    let mut offsets = vec![0i32];
    let mut data = Vec::new();
    for v in values {
        data.extend_from_slice(v);
        offsets.push(data.len() as i32);
    }
    let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
    // SAFETY: the offsets are valid; the bytes may not be UTF-8, which is what the
    // door under test must catch before any `&str` is made from them.
    Arc::new(unsafe { StringArray::new_unchecked(offsets, Buffer::from(data), None) })
}

/// Bytes that are often near the formats' own syntax.
fn trec_like() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("q1".to_string()),
            Just("Q0".to_string()),
            Just("0".to_string()),
            Just("-3".to_string()),
            Just("1e19".to_string()),
            Just("9223372036854775808".to_string()),
            Just("NaN".to_string()),
            Just(" ".to_string()),
            Just("\t".to_string()),
            Just("\n".to_string()),
            Just("\r".to_string()),
            Just("\r\n".to_string()),
            Just("\u{feff}".to_string()),
            any::<String>(),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn trec_parsers_answer_any_text(text in trec_like()) {
        if let Ok(batch) = parse_run(&text, "run") {
            prop_assert!(batch.num_rows() <= text.len());
        }
        if let Ok(batch) = parse_qrels(&text, "qrels") {
            prop_assert!(batch.num_rows() <= text.len());
        }
    }

    #[test]
    fn trec_files_of_any_bytes_are_read_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let path = std::env::temp_dir().join(format!("prefcore-prop-{}", std::process::id()));
        std::fs::write(&path, &bytes).unwrap();
        let result = read_qrels(path.to_str().unwrap());
        std::fs::remove_file(&path).ok();
        if std::str::from_utf8(&bytes).is_err() {
            prop_assert!(result.is_err());
        }
    }

    #[test]
    fn text_enters_only_as_utf8(values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..12), 0..8)) {
        let array = raw_strings(&values);
        let valid = values.iter().all(|v| std::str::from_utf8(v).is_ok());
        let entered = concat_chunks("text", std::slice::from_ref(&array));
        prop_assert_eq!(entered.is_ok(), valid);
        if let Err(e) = entered {
            let first_bad = values.iter().position(|v| std::str::from_utf8(v).is_err()).unwrap();
            prop_assert_eq!(
                e.to_string().split(':').next().unwrap().to_string(),
                format!("column 'text', row {first_bad}")
            );
        }
        // Sliced: only the rows in view count.
        if values.len() > 1 {
            let tail = array.slice(1, values.len() - 1);
            let tail_valid = values[1..].iter().all(|v| std::str::from_utf8(v).is_ok());
            prop_assert_eq!(concat_chunks("text", &[tail]).is_ok(), tail_valid);
        }
    }

    #[test]
    fn transcripts_parse_or_fail_cleanly(texts in proptest::collection::vec(
        proptest::collection::vec(prop_oneof![
            Just("\n\nHuman:".to_string()), Just("\n\nAssistant:".to_string()),
            Just(" hi".to_string()), Just("\n".to_string()), any::<String>()], 0..8)
            .prop_map(|p| p.concat()), 0..6),
        user in prop_oneof![Just("Human"), Just("User"), Just(""), Just("A:B")],
        assistant in prop_oneof![Just("Assistant"), Just("Human"), Just("Bot")],
    ) {
        let array: ArrayRef = Arc::new(StringArray::from(texts.clone()));
        if let Ok(roles) = Roles::new(user, assistant) {
            if let Ok(parsed) = parse_transcripts("text", &array, &roles) {
                prop_assert_eq!(parsed.len(), texts.len());
            }
        }
    }

    #[test]
    fn normaliser_and_shingler_take_any_text(
        text in any::<String>(),
        lowercase in any::<bool>(), collapse in any::<bool>(), strip in any::<bool>(),
        ngram in 1usize..6, char_shingles in any::<bool>(),
    ) {
        let normalizer = Normalizer {
            lowercase,
            unicode: UnicodeForm::Nfkc,
            collapse_whitespace: collapse,
            strip_punctuation: strip,
            digits_to_zero: false,
        };
        let normalized = normalizer.normalize(&text);
        let tokenizer = if char_shingles { Tokenizer::Char } else { Tokenizer::Word };
        let (mut out, mut words) = (Vec::new(), Vec::new());
        shingle_hashes(&normalized, ngram, tokenizer, false, &mut out, &mut words);
        if !normalized.is_empty() {
            prop_assert!(!out.is_empty(), "a non-empty text has at least one shingle");
        }
    }

    #[test]
    fn collate_shapes_hold_for_any_lengths(
        seqs in proptest::collection::vec(
            (proptest::collection::vec(-3i32..100, 0..20), proptest::collection::vec(-3i32..100, 0..20)), 0..6),
        max_length in proptest::option::of(0usize..30),
        multiple in proptest::option::of(0usize..9),
        keep_end in any::<bool>(),
    ) {
        let sequences: Vec<Sequence> = seqs.iter()
            .map(|(p, c)| Sequence { prompt: p, completion: c })
            .collect();
        let options = CollateOptions {
            pad_token_id: 0,
            label_pad_id: Some(-100),
            max_length,
            keep: if keep_end { Keep::End } else { Keep::Start },
            pad_to_multiple_of: multiple,
        };
        if let Ok(p) = pad(&sequences, &options) {
            prop_assert_eq!(p.rows, seqs.len());
            prop_assert_eq!(p.input_ids.len(), p.rows * p.width);
            prop_assert_eq!(p.labels.as_ref().map(Vec::len), Some(p.rows * p.width));
            if let Some(m) = multiple {
                prop_assert_eq!(p.width % m, 0);
            }
            if let Some(l) = max_length {
                prop_assert!(multiple.is_some() || p.width <= l);
            }
        }
        let packed_options = CollateOptions { pad_to_multiple_of: None, ..options };
        if let Ok(p) = pack(&sequences, &packed_options) {
            prop_assert_eq!(p.input_ids.len(), p.position_ids.len());
            prop_assert_eq!(*p.cu_seq_lens.last().unwrap() as usize, p.input_ids.len());
        }
    }
}
