//! The TREC kernel (`metrics::trec::evaluate`) against a plain reference written from
//! trec_eval's definitions, on generated runs and qrels: every query, every metric,
//! with ties, unjudged and negatively graded documents, integer and string ids.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
use prefcore_core::metrics::spec::parse_metrics;
use prefcore_core::metrics::trec::{evaluate, Column, QrelsColumns, RunColumns, TrecOptions};
use proptest::prelude::*;

/// One query's ranked list: (doc, score) sorted score descending, then doc id
/// descending in byte order (trec_eval's order).
fn ranked(mut docs: Vec<(String, f64)>) -> Vec<String> {
    docs.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| b.0.as_bytes().cmp(a.0.as_bytes()))
    });
    docs.into_iter().map(|(d, _)| d).collect()
}

/// trec_eval's values for one query, from its definitions.
fn reference(
    list: &[String],
    qrels: &BTreeMap<String, i64>,
    level: i64,
) -> BTreeMap<&'static str, f64> {
    let rel = |d: &String| qrels.get(d).copied().unwrap_or(-1);
    let relevant = |d: &String| rel(d) >= level;
    let num_rel = qrels.values().filter(|&&g| g >= level).count() as f64;
    let mut out = BTreeMap::new();
    // map: mean over relevant documents of precision at their rank.
    let (mut hits, mut ap, mut rr) = (0.0, 0.0, 0.0);
    for (i, d) in list.iter().enumerate() {
        if relevant(d) {
            hits += 1.0;
            ap += hits / (i + 1) as f64;
            if rr == 0.0 {
                rr = 1.0 / (i + 1) as f64;
            }
        }
    }
    out.insert("map", if num_rel > 0.0 { ap / num_rel } else { 0.0 });
    out.insert("recip_rank", rr);
    let p_at = |k: usize| list.iter().take(k).filter(|d| relevant(d)).count() as f64 / k as f64;
    out.insert("P@5", p_at(5));
    let r_at = |k: usize| {
        if num_rel > 0.0 {
            list.iter().take(k).filter(|d| relevant(d)).count() as f64 / num_rel
        } else {
            0.0
        }
    };
    out.insert("recall@10", r_at(10));
    // ndcg (trec_eval): gain = grade, discount log2(rank + 1), ideal from the qrels.
    let dcg = |grades: &[f64]| -> f64 {
        grades
            .iter()
            .enumerate()
            .map(|(i, g)| g / ((i + 2) as f64).log2())
            .sum()
    };
    let gains: Vec<f64> = list.iter().map(|d| rel(d).max(0) as f64).collect();
    let mut ideal: Vec<f64> = qrels.values().map(|&g| g.max(0) as f64).collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let (got, best) = (dcg(&gains), dcg(&ideal));
    out.insert("ndcg", if best > 0.0 { got / best } else { 0.0 });
    let cut = |v: &[f64]| dcg(&v[..v.len().min(10)]);
    out.insert(
        "ndcg_cut@10",
        if cut(&ideal) > 0.0 {
            cut(&gains) / cut(&ideal)
        } else {
            0.0
        },
    );
    out.insert("num_ret", list.len() as f64);
    out.insert("num_rel", num_rel);
    out.insert("num_rel_ret", hits);
    out
}

type Judged = Vec<(u8, u8, i64)>; // (query, doc, grade)
type Retrieved = Vec<(u8, u8, i8)>; // (query, doc, score: few values, so ties)

fn inputs() -> impl Strategy<Value = (Retrieved, Judged, bool)> {
    (
        proptest::collection::vec((0u8..4, 0u8..30, -3i8..4), 1..80),
        proptest::collection::vec((0u8..4, 0u8..30, -1i64..4), 1..60),
        any::<bool>(),
    )
}

/// First occurrence of each (query, doc): duplicates are an error, tested apart.
fn dedup<T: Copy>(rows: Vec<(u8, u8, T)>) -> Vec<(u8, u8, T)> {
    let mut seen = std::collections::HashSet::new();
    rows.into_iter()
        .filter(|r| seen.insert((r.0, r.1)))
        .collect()
}

fn ids(values: impl Iterator<Item = String>, numeric: bool) -> ArrayRef {
    let v: Vec<String> = values.collect();
    if numeric {
        Arc::new(Int64Array::from_iter_values(
            v.iter().map(|s| s.parse::<i64>().unwrap()),
        ))
    } else {
        Arc::new(StringArray::from_iter_values(v))
    }
}

const METRICS: [&str; 9] = [
    "map",
    "recip_rank",
    "P@5",
    "recall@10",
    "ndcg",
    "ndcg_cut@10",
    "num_ret",
    "num_rel",
    "num_rel_ret",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn equals_the_reference((run, qrels, numeric) in inputs(), level in 1i64..3) {
        let (run, qrels) = (dedup(run), dedup(qrels));
        // Integer doc ids compare as their decimal text: "10" sorts before "9".
        let name = |d: u8| if numeric { format!("{}", d) } else { format!("d{d}") };
        let run_q = ids(run.iter().map(|r| format!("{}", r.0)), numeric);
        let run_d = ids(run.iter().map(|r| name(r.1)), numeric);
        let score: ArrayRef = Arc::new(Float64Array::from_iter_values(run.iter().map(|r| r.2 as f64 / 2.0)));
        let qrels_q = ids(qrels.iter().map(|r| format!("{}", r.0)), numeric);
        let qrels_d = ids(qrels.iter().map(|r| name(r.1)), numeric);
        let grade: ArrayRef = Arc::new(Int64Array::from_iter_values(qrels.iter().map(|r| r.2)));
        let specs = parse_metrics(&METRICS).unwrap();
        let got = evaluate(
            &RunColumns {
                query: Column { name: "query_id", array: &run_q },
                doc: Column { name: "doc_id", array: &run_d },
                score: Column { name: "score", array: &score },
            },
            &QrelsColumns {
                query: Column { name: "query_id", array: &qrels_q },
                doc: Column { name: "doc_id", array: &qrels_d },
                relevance: Column { name: "relevance", array: &grade },
            },
            &specs,
            TrecOptions { relevance_level: level, complete: false },
        );
        let judged: std::collections::BTreeSet<u8> = qrels.iter().map(|r| r.0).collect();
        let mut queries: Vec<u8> = run.iter().map(|r| r.0).filter(|q| judged.contains(q)).collect();
        queries.sort_by_key(|q| q.to_string());
        queries.dedup();
        let got = match got {
            Ok(e) => e,
            Err(e) => {
                prop_assert!(queries.is_empty(), "error {e} with common queries {queries:?}");
                return Ok(());
            }
        };
        prop_assert_eq!(got.num_rows(), queries.len());
        for (row, q) in queries.iter().enumerate() {
            let list = ranked(run.iter().filter(|r| r.0 == *q).map(|r| (name(r.1), r.2 as f64 / 2.0)).collect());
            let judged: BTreeMap<String, i64> = qrels.iter().filter(|r| r.0 == *q).map(|r| (name(r.1), r.2)).collect();
            let want = reference(&list, &judged, level);
            for (m, metric) in METRICS.iter().enumerate() {
                let value = got.column(m)[row];
                prop_assert!((value - want[metric]).abs() < 1e-12, "query {q}, {metric}: {value} vs {}", want[metric]);
            }
        }
    }

    #[test]
    fn a_duplicate_document_is_an_error_naming_its_query(q in 0u8..4, d in 0u8..30) {
        let run_q: ArrayRef = Arc::new(StringArray::from_iter_values([format!("q{q}"), format!("q{q}")]));
        let run_d: ArrayRef = Arc::new(StringArray::from_iter_values([format!("d{d}"), format!("d{d}")]));
        let score: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 0.5]));
        let qrels_q: ArrayRef = Arc::new(StringArray::from_iter_values([format!("q{q}")]));
        let qrels_d: ArrayRef = Arc::new(StringArray::from_iter_values([format!("d{d}")]));
        let grade: ArrayRef = Arc::new(Int64Array::from(vec![1]));
        let err = evaluate(
            &RunColumns {
                query: Column { name: "query_id", array: &run_q },
                doc: Column { name: "doc_id", array: &run_d },
                score: Column { name: "score", array: &score },
            },
            &QrelsColumns {
                query: Column { name: "query_id", array: &qrels_q },
                doc: Column { name: "doc_id", array: &qrels_d },
                relevance: Column { name: "relevance", array: &grade },
            },
            &parse_metrics(&["map"]).unwrap(),
            TrecOptions::default(),
        ).err().expect("a duplicate document must be refused");
        let is_query_error = matches!(&err, prefcore_core::Error::InvalidQuery { query_id, .. } if *query_id == format!("q{q}"));
        prop_assert!(is_query_error, "{err}");
    }
}
