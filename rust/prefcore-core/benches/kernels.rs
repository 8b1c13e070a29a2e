//! Criterion benches of the kernels behind the README's figures, on generated input
//! of a fixed seed: `cargo bench -p prefcore-core` (`make bench` runs them too, and the
//! Python benches time the same kernels against their peers).
//!
//! Sizes are a tenth to a hundredth of the Python benches', so a run takes minutes;
//! compare runs of this file with each other, not with the README's ratios.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int32Array, StringArray};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use prefcore_core::batches::{collate, truncate, CollateOptions, TokenLists};
use prefcore_core::columns::ListColumn;
use prefcore_core::dedup::{self, Keep, MinHashOptions, Normalizer, TextColumn, Tokenizer};
use prefcore_core::matching::{knn, Matrix, Metric};
use prefcore_core::metrics::grouped::{self, GroupedOptions, Ties as GroupTies};
use prefcore_core::metrics::{parse_metrics, trec};
use prefcore_core::pairs::{pair_table, PairOptions, Strategy, TextLayout};
use prefcore_core::ratings::{bradley_terry, Battles, FitOptions};

mod common;
use common::{grouped_lists, list_of, trec_columns, trec_tables, Lcg};

const METRICS: [&str; 5] = ["ndcg@10", "map@100", "mrr@10", "P@10", "recall@100"];

fn ranking_metrics(c: &mut Criterion) {
    let mut rng = Lcg(1);
    let metrics = parse_metrics(&METRICS).unwrap();

    // Grouped lists: 20,000 prompts × 100 candidates.
    let (s, l) = grouped_lists(20_000, 100, &mut rng);
    let options = GroupedOptions {
        ties: GroupTies::Stable,
        relevance_level: 1.0,
    };
    c.bench_function("grouped metrics 20k x 100", |b| {
        b.iter(|| grouped::evaluate(("s", &s), ("l", &l), &metrics, options).unwrap())
    });

    // TREC tables: 10,000 queries × 100 documents, 10 judged per query.
    let tables = trec_tables(10_000, &mut rng);
    let (run, qrels) = trec_columns(&tables);
    c.bench_function("trec metrics 10k queries x 100 docs", |b| {
        b.iter(|| trec::evaluate(&run, &qrels, &metrics, trec::TrecOptions::default()).unwrap())
    });
}

fn pair_construction(c: &mut Criterion) {
    let mut rng = Lcg(2);
    let mut group = c.benchmark_group("pairs 20k prompts");
    for per_prompt in [4usize, 16] {
        let prompts = 20_000usize;
        let n = prompts * per_prompt;
        let texts = StringArray::from_iter_values((0..n).map(|i| format!("completion {i}")));
        let scores: Vec<f64> = (0..n).map(|_| (1 + rng.next() % 10) as f64).collect();
        let completions = list_of(Arc::new(texts), (0..prompts).map(|_| per_prompt));
        let scores = list_of(
            Arc::new(Float64Array::from(scores)),
            (0..prompts).map(|_| per_prompt),
        );
        let prompt: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..prompts).map(|i| format!("prompt {i}")),
        ));
        let scores = ListColumn::new("scores", &scores).unwrap();
        for (name, strategy, texts) in [
            ("all_pairs copied", Strategy::AllPairs, TextLayout::Copy),
            (
                "all_pairs dictionary",
                Strategy::AllPairs,
                TextLayout::Dictionary,
            ),
            ("best_random", Strategy::BestRandom, TextLayout::Copy),
        ] {
            let options = PairOptions {
                strategy,
                min_margin: 1.0,
                texts,
                ..Default::default()
            };
            group.bench_function(BenchmarkId::new(name, per_prompt), |b| {
                b.iter(|| {
                    pair_table(
                        Some(("prompt", &prompt)),
                        ("completions", &completions),
                        &scores,
                        &options,
                    )
                    .unwrap()
                })
            });
        }
    }
    group.finish();

    // Bradley-Terry: 100,000 battles among 100 models, the stronger model (higher
    // number) winning more often.
    let n = 100_000usize;
    let a: Vec<u32> = (0..n).map(|_| (rng.next() % 100) as u32).collect();
    let b: Vec<u32> = a
        .iter()
        .map(|&x| ((u64::from(x) + 1 + rng.next() % 99) % 100) as u32)
        .collect();
    let score_a: Vec<f64> = a
        .iter()
        .zip(&b)
        .map(|(&x, &y)| {
            f64::from(u8::from(
                rng.next() % 200 < 50 + u64::from(x.max(y) - x.min(y)) * u64::from(x > y),
            ))
        })
        .collect();
    let battles = Battles {
        a: &a,
        b: &b,
        score_a: &score_a,
        n_items: 100,
    };
    let options = FitOptions::default();
    c.bench_function("bradley-terry 100k battles, 100 models", |bench| {
        bench.iter(|| {
            let wins = bradley_terry::win_matrix(&battles, |k| k);
            bradley_terry::fit(&wins, 100, &options).unwrap()
        })
    });
}

fn dedup_kernels(c: &mut Criterion) {
    let mut rng = Lcg(3);
    let words = [
        "the", "model", "answer", "prompt", "safe", "reply", "data", "rank",
    ];
    let texts: Vec<String> = (0..20_000)
        .map(|_| {
            (0..40)
                .map(|_| words[(rng.next() % 8) as usize])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let array: ArrayRef = Arc::new(StringArray::from(texts));
    let column = TextColumn::new("text", &array).unwrap();
    let normalizer = Normalizer::default();
    let options = MinHashOptions {
        num_perm: 128,
        ngram: 5,
        tokenizer: Tokenizer::Word,
        seed: 1,
    };
    c.bench_function("minhash signatures 20k texts x 128", |b| {
        b.iter(|| dedup::signatures(&column, Some(&normalizer), options).unwrap())
    });
    c.bench_function("exact dedup 20k texts", |b| {
        b.iter(|| {
            dedup::exact(
                std::slice::from_ref(&column),
                Some(&normalizer),
                Keep::First,
            )
            .unwrap()
        })
    });
}

fn knn_search(c: &mut Criterion) {
    let mut rng = Lcg(4);
    let dim = 384usize;
    let mut matrix = |rows: usize| -> Vec<f32> {
        (0..rows * dim)
            .map(|_| (rng.next() % 2000) as f32 / 1000.0 - 1.0)
            .collect()
    };
    let (corpus, queries) = (matrix(20_000), matrix(1_000));
    let corpus = Matrix {
        data: &corpus,
        rows: 20_000,
        dim,
        name: "corpus",
    };
    let queries = Matrix {
        data: &queries,
        rows: 1_000,
        dim,
        name: "queries",
    };
    c.bench_function("knn top-10 ip, 1k queries x 20k x 384", |b| {
        b.iter(|| knn(queries, corpus, 10, Metric::Ip, None, false).unwrap())
    });
}

fn collation(c: &mut Criterion) {
    let mut rng = Lcg(5);
    let rows = 64usize;
    let mut lists = |min: u64, spread: u64| -> ArrayRef {
        let lengths: Vec<usize> = (0..rows)
            .map(|_| (min + rng.next() % spread) as usize)
            .collect();
        let total: usize = lengths.iter().sum();
        let ids = Int32Array::from_iter_values((0..total).map(|i| (i % 30_000) as i32 + 1));
        list_of(Arc::new(ids), lengths.into_iter())
    };
    let (prompt, chosen, rejected) = (lists(16, 496), lists(16, 752), lists(16, 752));
    let prompt = TokenLists::new("prompt_ids", &prompt).unwrap();
    let chosen = TokenLists::new("chosen_ids", &chosen).unwrap();
    let rejected = TokenLists::new("rejected_ids", &rejected).unwrap();
    let batch: Vec<usize> = (0..rows).collect();
    let options = CollateOptions {
        pad_token_id: 0,
        label_pad_id: None,
        max_length: Some(1024),
        keep: truncate::Keep::Start,
        pad_to_multiple_of: None,
    };
    c.bench_function("collate 64 pairs (padded, TRL layout)", |b| {
        b.iter(|| {
            let seqs = collate::pair_sequences(&prompt, &chosen, &rejected, &batch, None).unwrap();
            collate::pad(&seqs, &options).unwrap()
        })
    });
}

criterion_group! {
    name = kernels;
    config = Criterion::default().sample_size(10);
    targets = ranking_metrics, pair_construction, dedup_kernels, knn_search, collation
}
criterion_main!(kernels);
