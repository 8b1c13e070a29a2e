//! TREC run and qrels text files, read straight into Arrow columns.
//!
//! Run lines: `query_id Q0 doc_id rank score run_tag [ignored...]`.
//! Qrels lines: `query_id iteration doc_id relevance`.
//! Fields are separated by any whitespace; blank lines are skipped. Lines end in
//! `\n`, `\r\n` or a lone `\r`; a UTF-8 byte-order mark at the start is ignored.

use std::sync::Arc;

use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder};
use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema};

use crate::error::{Error, Result};

fn read(path: &str) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_string(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = 1 + lines(std::str::from_utf8(valid).unwrap_or_default()).count()
            - usize::from(!valid.is_empty() && !valid.ends_with(b"\n") && !valid.ends_with(b"\r"));
        parse_error(path, line, "not valid UTF-8 text")
    })
}

/// The lines of `text`, ended by `\n`, `\r\n` or `\r`, without their ends.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let t = rest?;
        match t.find(['\n', '\r']) {
            Some(end) => {
                let skip = if t[end..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&t[end + skip..]);
                Some(&t[..end])
            }
            None => {
                rest = None;
                (!t.is_empty()).then_some(t)
            }
        }
    })
}

fn parse_error(path: &str, line: usize, message: impl Into<String>) -> Error {
    Error::Parse {
        path: path.to_string(),
        line,
        message: message.into(),
    }
}

/// The non-blank lines of `text` as (1-based line number, whitespace-split fields),
/// each checked to have `expected` fields (at least, when `at_least`: trec_eval
/// ignores words after a run line's sixth field, and its own test runs have them).
fn records<'t>(
    text: &'t str,
    path: &'t str,
    expected: usize,
    at_least: bool,
    layout: &'t str,
) -> impl Iterator<Item = Result<(usize, Vec<&'t str>)>> + 't {
    lines(text).enumerate().filter_map(move |(i, line)| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let ok = fields.len() == expected || (at_least && fields.len() > expected);
        match (fields.is_empty(), ok) {
            (true, _) => None,
            (false, true) => Some(Ok((i + 1, fields))),
            (false, false) => Some(Err(parse_error(
                path,
                i + 1,
                format!(
                    "expected {expected} fields '{layout}', found {}",
                    fields.len()
                ),
            ))),
        }
    })
}

/// Parse the text of a run file into (query_id, doc_id, score, run_id).
pub fn parse_run(text: &str, path: &str) -> Result<RecordBatch> {
    let mut query = StringBuilder::new();
    let mut doc = StringBuilder::new();
    let mut score = Float64Builder::new();
    let mut tag = StringBuilder::new();
    for record in records(text, path, 6, true, "query_id Q0 doc_id rank score run_tag") {
        let (line, fields) = record?;
        let s: f64 = fields[4].parse().map_err(|_| {
            parse_error(path, line, format!("score '{}' is not a number", fields[4]))
        })?;
        if s.is_nan() {
            return Err(parse_error(path, line, "score is NaN"));
        }
        query.append_value(fields[0]);
        doc.append_value(fields[2]);
        score.append_value(s);
        tag.append_value(fields[5]);
    }
    let schema = Schema::new(vec![
        Field::new("query_id", DataType::Utf8, false),
        Field::new("doc_id", DataType::Utf8, false),
        Field::new("score", DataType::Float64, false),
        Field::new("run_id", DataType::Utf8, false),
    ]);
    Ok(RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(query.finish()),
            Arc::new(doc.finish()),
            Arc::new(score.finish()),
            Arc::new(tag.finish()),
        ],
    )?)
}

/// Parse the text of a qrels file into (query_id, doc_id, relevance).
pub fn parse_qrels(text: &str, path: &str) -> Result<RecordBatch> {
    let mut query = StringBuilder::new();
    let mut doc = StringBuilder::new();
    let mut rel = Int64Builder::new();
    for record in records(text, path, 4, false, "query_id iteration doc_id relevance") {
        let (line, fields) = record?;
        let r: i64 = fields[3].parse().map_err(|_| {
            parse_error(
                path,
                line,
                format!(
                    "relevance '{}' is not an integer that fits in 64 bits",
                    fields[3]
                ),
            )
        })?;
        query.append_value(fields[0]);
        doc.append_value(fields[2]);
        rel.append_value(r);
    }
    let schema = Schema::new(vec![
        Field::new("query_id", DataType::Utf8, false),
        Field::new("doc_id", DataType::Utf8, false),
        Field::new("relevance", DataType::Int64, false),
    ]);
    Ok(RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(query.finish()),
            Arc::new(doc.finish()),
            Arc::new(rel.finish()),
        ],
    )?)
}

/// Read a TREC run file.
pub fn read_run(path: &str) -> Result<RecordBatch> {
    parse_run(&read(path)?, path)
}

/// Read a TREC qrels file.
pub fn read_qrels(path: &str) -> Result<RecordBatch> {
    parse_qrels(&read(path)?, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_lines_with_trailing_words_parse_as_in_trec_eval() {
        let b = parse_run(
            "301 Q0 D1 1 2.5 tag extra words\n\n302\tQ0\tD2\t1\t-1e3\ttag\n",
            "r",
        )
        .unwrap();
        assert_eq!(b.num_rows(), 2);
        // A file with lone-CR line ends is three lines, not one line of 18 words.
        let b = parse_run("a Q0 d 1 1 t\rb Q0 d 1 1 t\rc Q0 d 1 1 t", "r").unwrap();
        assert_eq!(b.num_rows(), 3);
    }

    #[test]
    fn every_line_ending_and_a_byte_order_mark() {
        for text in [
            "\u{feff}q1 0 d1 1\rq2 0 d2 0\rq3 0 d3 2\r",
            "q1 0 d1 1\r\nq2 0 d2 0\r\nq3 0 d3 2",
            "q1 0 d1 1\nq2 0 d2 0\n\nq3 0 d3 2\n",
        ] {
            let b = parse_qrels(text, "q").unwrap();
            let ids = b
                .column(0)
                .as_any()
                .downcast_ref::<arrow_array::StringArray>();
            let ids: Vec<&str> = ids.unwrap().iter().map(|v| v.unwrap()).collect();
            assert_eq!(ids, ["q1", "q2", "q3"], "{text:?}");
        }
        let e = parse_qrels("q1 0 d1 1\rq2 0 d2\r", "q").unwrap_err();
        assert!(
            e.to_string().starts_with("q, line 2: expected 4 fields"),
            "{e}"
        );
    }

    #[test]
    fn grades_beyond_64_bits_and_bad_bytes_are_errors() {
        let e = parse_qrels("q 0 d 9223372036854775813\n", "q").unwrap_err();
        assert!(e.to_string().contains("fits in 64 bits"), "{e}");
        let e = parse_qrels("q 0 d 1e19\n", "q").unwrap_err();
        assert!(e.to_string().starts_with("q, line 1:"), "{e}");
        let dir = std::env::temp_dir().join(format!("prefcore-trec-{}", std::process::id()));
        std::fs::write(&dir, b"q 0 d 1\nq 0 \xe9 1\n").unwrap();
        let e = read_qrels(dir.to_str().unwrap()).unwrap_err().to_string();
        std::fs::remove_file(&dir).ok();
        assert!(e.ends_with("line 2: not valid UTF-8 text"), "{e}");
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let e = parse_run("301 Q0 D1 1 x tag\n", "run.txt")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "run.txt, line 1: score 'x' is not a number");
        let e = parse_qrels("301 0 D1\n", "q").unwrap_err().to_string();
        assert!(e.starts_with("q, line 1: expected 4 fields"), "{e}");
    }
}
