//! Long kernels notice Ctrl-C between chunks of their work, not only before or after
//! it. The installed check is per thread: it counts the checks made on the calling
//! thread and reports an interrupt at the n-th, so a kernel that checks only on its
//! workers, or only once, fails here. No clock is read.

use std::cell::Cell;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
use prefcore_core::columns::ListColumn;
use prefcore_core::dedup::{exact, Keep, Normalizer, TextColumn};
use prefcore_core::matching::{knn, Matrix, Metric};
use prefcore_core::metrics::spec::parse_metrics;
use prefcore_core::metrics::trec::{evaluate, Column, QrelsColumns, RunColumns, TrecOptions};
use prefcore_core::pairs::{pair_table, PairOptions, Strategy};
use prefcore_core::{interrupt, Error};

#[path = "../benches/common/mod.rs"]
mod common;
use common::list_of;

thread_local! {
    /// Checks made on this thread so far, and the one (1-based) that finds Ctrl-C.
    static CHECKS: Cell<usize> = const { Cell::new(0) };
    static INTERRUPT_AT: Cell<usize> = const { Cell::new(usize::MAX) };
}

fn pending() -> bool {
    CHECKS.with(|c| {
        c.set(c.get() + 1);
        c.get() == INTERRUPT_AT.with(Cell::get)
    })
}

/// How many checks `work` makes on this thread when never interrupted, and what it
/// returns when interrupted at its last check.
fn checks_then_interrupt_last<T>(work: impl Fn() -> prefcore_core::Result<T>) -> (usize, Error) {
    interrupt::set_check(pending);
    CHECKS.with(|c| c.set(0));
    INTERRUPT_AT.with(|c| c.set(usize::MAX));
    assert!(work().is_ok(), "the uninterrupted call fails");
    let checks = CHECKS.with(Cell::get);
    CHECKS.with(|c| c.set(0));
    INTERRUPT_AT.with(|c| c.set(checks));
    let err = match work() {
        Ok(_) => panic!("an interrupt at check {checks} of {checks} was not noticed"),
        Err(e) => e,
    };
    INTERRUPT_AT.with(|c| c.set(usize::MAX));
    (checks, err)
}

fn assert_checked_between_chunks(checks: usize, err: Error) {
    assert!(
        checks >= 3,
        "{checks} checks: Ctrl-C is not noticed between chunks"
    );
    assert!(matches!(err, Error::Interrupted), "{err}");
}

#[test]
fn exact_dedup_checks_while_hashing_and_grouping() {
    // 300k rows, a third of them copies: hashing waves and the grouping pass both check.
    let texts: Vec<String> = (0..300_000)
        .map(|i| format!("Row {}", i % 200_000))
        .collect();
    let array: ArrayRef = Arc::new(StringArray::from(texts));
    let column = || TextColumn::new("prompt", &array).unwrap();
    let normalizer = Normalizer::default();
    let (checks, err) =
        checks_then_interrupt_last(|| exact(&[column()], Some(&normalizer), Keep::First));
    assert_checked_between_chunks(checks, err);
}

#[test]
fn knn_checks_between_query_blocks() {
    let (rows, dim) = (40_000, 8);
    let data: Vec<f32> = (0..rows * dim).map(|i| ((i * 7919) % 101) as f32).collect();
    let matrix = Matrix {
        data: &data,
        rows,
        dim,
        name: "queries",
    };
    let corpus = Matrix {
        data: &data[..1000 * dim],
        rows: 1000,
        dim,
        name: "corpus",
    };
    let (checks, err) =
        checks_then_interrupt_last(|| knn(matrix, corpus, 5, Metric::Ip, None, false));
    assert_checked_between_chunks(checks, err);
}

#[test]
fn all_pairs_checks_between_tasks_of_groups() {
    let (groups, per_group) = (100_000, 4);
    let n = groups * per_group;
    let texts: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..n).map(|i| format!("c{}", i % 10)),
    ));
    let scores: ArrayRef = Arc::new(Float64Array::from_iter_values(
        (0..n).map(|i| (i % per_group) as f64),
    ));
    let completions = list_of(texts, std::iter::repeat_n(per_group, groups));
    let scores = list_of(scores, std::iter::repeat_n(per_group, groups));
    let scores = ListColumn::new("scores", &scores).unwrap();
    let options = PairOptions {
        strategy: Strategy::AllPairs,
        ..PairOptions::default()
    };
    let (checks, err) = checks_then_interrupt_last(|| {
        pair_table(None, ("completions", &completions), &scores, &options)
    });
    assert_checked_between_chunks(checks, err);
}

#[test]
fn trec_evaluation_checks_between_waves_of_queries() {
    let (queries, docs) = (300_000, 2);
    let n = queries * docs;
    let query: ArrayRef = Arc::new(Int64Array::from_iter_values(
        (0..n).map(|i| (i / docs) as i64),
    ));
    let doc: ArrayRef = Arc::new(Int64Array::from_iter_values((0..n).map(|i| i as i64)));
    let score: ArrayRef = Arc::new(Float64Array::from_iter_values(
        (0..n).map(|i| (i % docs) as f64),
    ));
    let grade: ArrayRef = Arc::new(Int64Array::from_iter_values((0..n).map(|i| (i % 2) as i64)));
    let specs = parse_metrics(&["map", "ndcg_cut@10"]).unwrap();
    let (checks, err) = checks_then_interrupt_last(|| {
        evaluate(
            &RunColumns {
                query: Column {
                    name: "query_id",
                    array: &query,
                },
                doc: Column {
                    name: "doc_id",
                    array: &doc,
                },
                score: Column {
                    name: "score",
                    array: &score,
                },
            },
            &QrelsColumns {
                query: Column {
                    name: "query_id",
                    array: &query,
                },
                doc: Column {
                    name: "doc_id",
                    array: &doc,
                },
                relevance: Column {
                    name: "relevance",
                    array: &grade,
                },
            },
            &specs,
            TrecOptions::default(),
        )
    });
    assert_checked_between_chunks(checks, err);
}
