//! Time the TREC kernel alone: `T=2 cargo run --release --example profile_trec` (T = threads).
use std::sync::Arc;
use std::time::Instant;

use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
use prefcore_core::metrics::{parse_metrics, trec};

fn main() {
    let nq: usize = std::env::var("N")
        .map(|v| v.parse().unwrap())
        .unwrap_or(100_000);
    let nd = 100usize;
    let mut q = Vec::new();
    let mut d = Vec::new();
    let mut s = Vec::new();
    let mut x: u64 = 1;
    for i in 0..nq {
        for j in 0..nd {
            q.push(format!("q{i}"));
            d.push(format!("D{}", (i * 7919 + j * 104_729) % 10_000_000));
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            s.push(((x >> 33) % 1000) as f64 / 1000.0);
        }
    }
    let (mut qq, mut qd, mut qr) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..nq {
        for j in 0..10 {
            qq.push(format!("q{i}"));
            qd.push(format!(
                "D{}",
                (i * 7919 + j * 13 % 103 * 104_729) % 10_000_000
            ));
            qr.push((j % 4) as i64);
        }
    }
    let arr = |v: Vec<String>| -> ArrayRef { Arc::new(StringArray::from(v)) };
    let (rq, rd) = (arr(q), arr(d));
    let rs: ArrayRef = Arc::new(Float64Array::from(s));
    let (qq, qd) = (arr(qq), arr(qd));
    let qr: ArrayRef = Arc::new(Int64Array::from(qr));
    let metrics = parse_metrics(&["ndcg@10", "map@100", "mrr@10", "P@10", "recall@100"]).unwrap();
    prefcore_core::parallel::set_num_threads(
        std::env::var("T").map(|t| t.parse().unwrap()).unwrap_or(1),
    )
    .unwrap();
    for _ in 0..std::env::var("R").map(|v| v.parse().unwrap()).unwrap_or(3) {
        let t = Instant::now();
        let e = trec::evaluate(
            &trec::RunColumns {
                query: trec::Column {
                    name: "q",
                    array: &rq,
                },
                doc: trec::Column {
                    name: "d",
                    array: &rd,
                },
                score: trec::Column {
                    name: "s",
                    array: &rs,
                },
            },
            &trec::QrelsColumns {
                query: trec::Column {
                    name: "q",
                    array: &qq,
                },
                doc: trec::Column {
                    name: "d",
                    array: &qd,
                },
                relevance: trec::Column {
                    name: "r",
                    array: &qr,
                },
            },
            &metrics,
            trec::TrecOptions::default(),
        )
        .unwrap();
        println!(
            "{:?} per query, {}",
            t.elapsed() / nq as u32,
            e.summary()[0]
        );
    }
}
