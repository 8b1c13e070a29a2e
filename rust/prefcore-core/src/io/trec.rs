//! TREC run and qrels text files, read straight into Arrow columns.
//!
//! Run lines: `query_id Q0 doc_id rank score run_tag [ignored...]`.
//! Qrels lines: `query_id iteration doc_id relevance`.
//! Fields are separated by any whitespace; blank lines are skipped.

use std::sync::Arc;

use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder};
use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema};

use crate::error::{Error, Result};

fn read(path: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_string(),
        source,
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
/// each checked to have `expected` fields (at least, when `at_least`).
fn records<'t>(
    text: &'t str,
    path: &'t str,
    expected: usize,
    at_least: bool,
    layout: &'t str,
) -> impl Iterator<Item = Result<(usize, Vec<&'t str>)>> + 't {
    text.lines().enumerate().filter_map(move |(i, line)| {
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
                format!("relevance '{}' is not an integer", fields[3]),
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
    fn run_lines_with_trailing_junk_parse() {
        let b = parse_run(
            "301 Q0 D1 1 2.5 tag extra words\n\n302\tQ0\tD2\t1\t-1e3\ttag\n",
            "r",
        )
        .unwrap();
        assert_eq!(b.num_rows(), 2);
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
