//! Time the grouped kernel alone: `T=2 cargo run --release --example profile_grouped`
//! (T = threads).
use std::sync::Arc;
use std::time::Instant;

use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{ArrayRef, FixedSizeListArray, Float64Array, Int64Array};
use arrow_schema::{DataType, Field};
use prefcore_core::metrics::grouped::{self, GroupedOptions, Ties};
use prefcore_core::metrics::parse_metrics;

fn main() {
    let ng: usize = std::env::var("N")
        .map(|v| v.parse().unwrap())
        .unwrap_or(40_000);
    let n = 100i32;
    let mut x: u64 = 1;
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 33
    };
    let scores: Vec<f64> = (0..ng * n as usize)
        .map(|_| (next() % 1000) as f64 / 1000.0)
        .collect();
    let labels: Vec<i64> = (0..ng * n as usize).map(|_| (next() % 4) as i64).collect();
    let _ = (Float64Type {}, Int64Type {});
    let s: ArrayRef = Arc::new(FixedSizeListArray::new(
        Arc::new(Field::new("item", DataType::Float64, false)),
        n,
        Arc::new(Float64Array::from(scores)),
        None,
    ));
    let l: ArrayRef = Arc::new(FixedSizeListArray::new(
        Arc::new(Field::new("item", DataType::Int64, false)),
        n,
        Arc::new(Int64Array::from(labels)),
        None,
    ));
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
