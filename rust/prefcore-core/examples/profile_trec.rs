//! Time the TREC kernel alone: `T=2 cargo run --release --example profile_trec` (T = threads).
use std::time::Instant;

use prefcore_core::metrics::{parse_metrics, trec};

#[path = "../benches/common/mod.rs"]
mod common;

fn main() {
    let nq: usize = std::env::var("N")
        .map(|v| v.parse().unwrap())
        .unwrap_or(100_000);
    let tables = common::trec_tables(nq, &mut common::Lcg(1));
    let (run, qrels) = common::trec_columns(&tables);
    let metrics = parse_metrics(&["ndcg@10", "map@100", "mrr@10", "P@10", "recall@100"]).unwrap();
    prefcore_core::parallel::set_num_threads(
        std::env::var("T").map(|t| t.parse().unwrap()).unwrap_or(1),
    )
    .unwrap();
    for _ in 0..std::env::var("R").map(|v| v.parse().unwrap()).unwrap_or(3) {
        let t = Instant::now();
        let e = trec::evaluate(&run, &qrels, &metrics, trec::TrecOptions::default()).unwrap();
        println!(
            "{:?} per query, {}",
            t.elapsed() / nq as u32,
            e.summary()[0]
        );
    }
}
