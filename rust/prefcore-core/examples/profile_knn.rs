//! Time exact top-k search and its matrix products alone:
//! `cargo run --release --example profile_knn` (`N` corpus rows, `Q` queries).
use std::time::Instant;

use prefcore_core::matching::{knn, range_search, Matrix, Metric};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).map_or(default, |v| v.parse().unwrap())
}

fn main() {
    let (n, nq, dim) = (env("N", 100_000), env("Q", 10_000), 384);
    let mut x: u64 = 1;
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((x >> 40) as f32) / (1u64 << 24) as f32 - 0.5
    };
    let corpus: Vec<f32> = (0..n * dim).map(|_| next()).collect();
    let queries: Vec<f32> = (0..nq * dim).map(|_| next()).collect();
    let c = Matrix {
        data: &corpus,
        rows: n,
        dim,
        name: "corpus",
    };
    let q = Matrix {
        data: &queries,
        rows: nq,
        dim,
        name: "queries",
    };
    let flops = 2.0 * n as f64 * nq as f64 * dim as f64;
    let t = Instant::now();
    let (_, idx) = knn(q, c, 10, Metric::Ip, None, false).unwrap();
    let s = t.elapsed().as_secs_f64();
    println!(
        "knn {s:.3}s ({:.1} GFLOP/s), first {}",
        flops / s / 1e9,
        idx[0]
    );
    let t = Instant::now();
    let (hits, _, _) = range_search(q, c, 1e9, Metric::Ip, None, false).unwrap();
    let s = t.elapsed().as_secs_f64();
    println!(
        "products alone {s:.3}s ({:.1} GFLOP/s), {} hits",
        flops / s / 1e9,
        hits.len()
    );
}
