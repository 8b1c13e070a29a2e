//! Time the grouped kernel alone: `T=2 cargo run --release --example profile_grouped`
//! (T = threads).
use std::time::Instant;

use prefcore_core::metrics::grouped::{self, GroupedOptions, Ties};
use prefcore_core::metrics::parse_metrics;

#[path = "../benches/common/mod.rs"]
mod common;

fn main() {
    let ng: usize = std::env::var("N")
        .map(|v| v.parse().unwrap())
        .unwrap_or(40_000);
    let (s, l) = common::grouped_lists(ng, 100, &mut common::Lcg(1));
    let metrics = parse_metrics(&["ndcg@10", "map@100", "mrr@10", "P@10", "recall@100"]).unwrap();
    prefcore_core::parallel::set_num_threads(
        std::env::var("T").map(|t| t.parse().unwrap()).unwrap_or(1),
    )
    .unwrap();
    let options = GroupedOptions {
        ties: Ties::Stable,
        relevance_level: 1.0,
    };
    for _ in 0..std::env::var("R").map(|v| v.parse().unwrap()).unwrap_or(5) {
        let t = Instant::now();
        let e = grouped::evaluate(("s", &s), ("l", &l), &metrics, options).unwrap();
        println!(
            "{:?} per group, {}",
            t.elapsed() / ng as u32,
            e.summary()[0]
        );
    }
}
