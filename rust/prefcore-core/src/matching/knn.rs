//! Exact k-nearest neighbours: blocked matrix products (the `gemm` crate) fused with a
//! per-query top-k, in FAISS's result layout (`[nq, k]` scores and indices, best first,
//! `-1` where the corpus has fewer than k rows).
//!
//! Query blocks run in parallel; each multiplies against one corpus block at a time,
//! so the extra memory is one `query block × corpus block` tile per thread.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::parallel;
use crate::parse_option;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Inner product, largest first (FAISS `IndexFlatIP`).
    Ip,
    /// Cosine similarity, largest first (inner product of L2-normalised rows).
    Cosine,
    /// Squared L2 distance, smallest first (FAISS `IndexFlatL2`).
    L2,
}

parse_option!(Metric, "metric", {
    "ip" => Metric::Ip,
    "cosine" => Metric::Cosine,
    "l2" => Metric::L2,
});

impl Metric {
    /// The score of a missing neighbour, as FAISS reports it.
    fn missing(self) -> f32 {
        match self {
            Metric::L2 => f32::MAX,
            _ => -f32::MAX,
        }
    }

    /// Is `a` a better score than `b`?
    fn better(self, a: f32, b: f32) -> bool {
        match self {
            Metric::L2 => a < b,
            _ => a > b,
        }
    }
}

/// A row-major `rows × dim` float32 matrix.
#[derive(Clone, Copy)]
pub struct Matrix<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub dim: usize,
    /// Name for error messages (`queries`, `corpus`).
    pub name: &'a str,
}

impl Matrix<'_> {
    fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    fn check(&self) -> Result<()> {
        if self.data.len() != self.rows * self.dim {
            return Err(Error::argument(format!(
                "{}: {} values for {} x {}",
                self.name,
                self.data.len(),
                self.rows,
                self.dim
            )));
        }
        // One branch-free pass for both checks: any non-finite value, and the largest
        // magnitude (which bounds every squared norm by dim * max^2).
        let (mut bad, mut max_abs) = (false, 0f32);
        for &v in self.data {
            let a = v.abs();
            bad |= !a.is_finite();
            max_abs = max_abs.max(a);
        }
        if bad {
            let i = self.data.iter().position(|v| !v.is_finite()).unwrap_or(0);
            return Err(Error::value(
                self.name,
                i / self.dim.max(1),
                format!("non-finite value at dimension {}", i % self.dim.max(1)),
            ));
        }
        let bound = f64::from(max_abs) * f64::from(max_abs) * self.dim as f64;
        if bound > f64::from(f32::MAX) / 2.0 {
            return self.check_magnitude(); // rows near the limit: measure each exactly
        }
        Ok(())
    }

    /// Scores are computed in f32: a row whose squared norm overflows it would turn a
    /// distance or product into inf or 0 without notice. (|q.c| <= (|q|^2 + |c|^2) / 2,
    /// so finite squared norms keep every product finite.)
    fn check_magnitude(&self) -> Result<()> {
        for i in 0..self.rows {
            let squared: f64 = self
                .row(i)
                .iter()
                .map(|&v| f64::from(v) * f64::from(v))
                .sum();
            if squared > f64::from(f32::MAX) / 2.0 {
                return Err(Error::value(
                    self.name,
                    i,
                    format!(
                        "squared norm {squared:e} is too large for float32 scores; \
                         rescale the vectors"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Squared L2 norm of every row.
    fn squared_norms(&self) -> Vec<f32> {
        (0..self.rows)
            .map(|i| self.row(i).iter().map(|v| v * v).sum())
            .collect()
    }
}

/// Queries per parallel block and corpus rows per tile.
/// Queries per parallel block: large blocks amortise the GEMM's packing, but every
/// thread needs a couple of blocks to share the work.
fn query_block(rows: usize) -> usize {
    rows.div_ceil(2 * parallel::num_threads()).clamp(64, 1024)
}
const DEFAULT_CORPUS_BLOCK: usize = 1024;

/// `tile[i * cols + j] = Σ_d q[i][d] · c[j][d]` for a block of queries and corpus rows.
fn dot_tile(q: &[f32], c: &[f32], rows: usize, cols: usize, dim: usize, tile: &mut [f32]) {
    // SAFETY: `tile` holds rows × cols, `q` rows × dim and `c` cols × dim values, all
    // row-major; the strides below stay inside them. `c` is read as its transpose.
    unsafe {
        gemm::gemm(
            rows,
            cols,
            dim,
            tile.as_mut_ptr(),
            1,
            cols as isize,
            false,
            q.as_ptr(),
            1,
            dim as isize,
            c.as_ptr(),
            dim as isize,
            1,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Insert `(score, index)` into a best-first list of at most `k` (ties: lower index first).
fn offer(top: &mut Vec<(f32, i64)>, k: usize, score: f32, index: i64, metric: Metric) {
    if top.len() == k {
        let (worst, _) = top[k - 1];
        if !metric.better(score, worst) {
            return;
        }
        top.pop();
    }
    let at = top.partition_point(|&(s, i)| metric.better(s, score) || (s == score && i < index));
    top.insert(at, (score, index));
}

/// Validated inputs and the row norms the metrics need.
struct Search<'a> {
    queries: Matrix<'a>,
    corpus: Matrix<'a>,
    metric: Metric,
    corpus_block: usize,
    q_norms: Vec<f32>,
    c_norms: Vec<f32>,
}

impl<'a> Search<'a> {
    fn new(
        queries: Matrix<'a>,
        corpus: Matrix<'a>,
        metric: Metric,
        corpus_block: Option<usize>,
    ) -> Result<Self> {
        if queries.dim != corpus.dim {
            return Err(Error::argument(format!(
                "queries have dimension {} but the corpus has {}",
                queries.dim, corpus.dim
            )));
        }
        queries.check()?;
        corpus.check()?;
        let (q_norms, c_norms) = (queries.squared_norms(), corpus.squared_norms());
        if metric == Metric::Cosine {
            for (m, norms) in [(&queries, &q_norms), (&corpus, &c_norms)] {
                if let Some(row) = norms.iter().position(|&n| n == 0.0) {
                    return Err(Error::value(
                        m.name,
                        row,
                        "zero vector has no cosine similarity",
                    ));
                }
            }
        }
        Ok(Search {
            queries,
            corpus,
            metric,
            corpus_block: corpus_block.unwrap_or(DEFAULT_CORPUS_BLOCK).max(1),
            q_norms,
            c_norms,
        })
    }

    /// `visit(query, first corpus row, scores)` for every query of block
    /// `q0..q0 + rows` and every corpus block from row `c_from` on: `scores` holds the
    /// query's scores against that corpus block, in corpus order.
    fn scan(
        &self,
        q0: usize,
        rows: usize,
        c_from: usize,
        mut visit: impl FnMut(usize, usize, &[f32]),
    ) {
        let dim = self.queries.dim;
        let q = &self.queries.data[q0 * dim..(q0 + rows) * dim];
        let mut tile = vec![0f32; rows * self.corpus_block.min(self.corpus.rows.max(1))];
        for c0 in (c_from..self.corpus.rows).step_by(self.corpus_block) {
            let cols = self.corpus_block.min(self.corpus.rows - c0);
            let c = &self.corpus.data[c0 * dim..(c0 + cols) * dim];
            let tile = &mut tile[..rows * cols];
            dot_tile(q, c, rows, cols, dim, tile);
            let c_norms = &self.c_norms[c0..c0 + cols];
            for (i, row) in tile.chunks_exact_mut(cols).enumerate() {
                let qi = q0 + i;
                let q_norm = self.q_norms[qi];
                // One loop per metric, so each vectorises.
                match self.metric {
                    Metric::Ip => {}
                    Metric::Cosine => {
                        for (s, &cn) in row.iter_mut().zip(c_norms) {
                            *s /= (q_norm * cn).sqrt();
                        }
                    }
                    Metric::L2 => {
                        for (s, &cn) in row.iter_mut().zip(c_norms) {
                            *s = (q_norm + cn - 2.0 * *s).max(0.0);
                        }
                    }
                }
                visit(qi, c0, row);
            }
        }
    }
}

/// Calls `hit(first + j, scores[j])` for every score of each lane group that holds one
/// better than `bar` (or equal to it, when `inclusive`); `hit` checks the score itself
/// and returns the new bar. Most groups of a top-k or threshold scan hold no
/// candidate, and the group test vectorises.
fn candidates(
    scores: &[f32],
    mut bar: f32,
    inclusive: bool,
    metric: Metric,
    first: usize,
    mut hit: impl FnMut(usize, f32) -> f32,
) {
    const LANES: usize = 16;
    let lower = metric == Metric::L2;
    for (g, group) in scores.chunks(LANES).enumerate() {
        let any = match (lower, inclusive) {
            (true, false) => group.iter().fold(false, |a, &s| a | (s < bar)),
            (true, true) => group.iter().fold(false, |a, &s| a | (s <= bar)),
            (false, false) => group.iter().fold(false, |a, &s| a | (s > bar)),
            (false, true) => group.iter().fold(false, |a, &s| a | (s >= bar)),
        };
        if any {
            for (j, &s) in group.iter().enumerate() {
                bar = hit(first + g * LANES + j, s);
            }
        }
    }
}

/// Is `score` within `threshold` (at or above it; at or below for squared L2)?
fn within(score: f32, threshold: f32, metric: Metric) -> bool {
    match metric {
        Metric::L2 => score <= threshold,
        _ => score >= threshold,
    }
}

/// The `k` best corpus rows for every query: `(scores, indices)`, row-major `[nq, k]`.
/// `exclude_self` skips corpus row `i` for query `i` (a matrix searched against itself).
pub fn knn(
    queries: Matrix,
    corpus: Matrix,
    k: usize,
    metric: Metric,
    corpus_block: Option<usize>,
    exclude_self: bool,
) -> Result<(Vec<f32>, Vec<i64>)> {
    if k == 0 {
        return Err(Error::bad_argument("k", "k must be at least 1"));
    }
    let search = Search::new(queries, corpus, metric, corpus_block)?;
    let qb = query_block(queries.rows);
    let size = crate::alloc::product(queries.rows, k, "k")?;
    let mut scores = crate::alloc::filled(size, metric.missing(), "k")?;
    let mut indices = crate::alloc::filled(size, -1i64, "k")?;
    // A top list never holds more than the corpus, whatever k asks for.
    let held = k.min(corpus.rows) + 1;
    // Query blocks go a wave at a time (two per thread) so that Ctrl-C is noticed
    // between waves; a block's results do not depend on its wave.
    let wave = 2 * parallel::num_threads();
    let per_wave = wave * qb * k;
    crate::progress::stage("search");
    for (w, (wave_scores, wave_indices)) in scores
        .chunks_mut(per_wave)
        .zip(indices.chunks_mut(per_wave))
        .enumerate()
    {
        crate::interrupt::check()?;
        parallel::install(|| {
            wave_scores
                .par_chunks_mut(qb * k)
                .zip(wave_indices.par_chunks_mut(qb * k))
                .enumerate()
                .for_each(|(b, (out_scores, out_indices))| {
                    let q0 = (w * wave + b) * qb;
                    let rows = out_scores.len() / k;
                    let mut tops: Vec<Vec<(f32, i64)>> = vec![Vec::with_capacity(held); rows];
                    search.scan(q0, rows, 0, |qi, c0, row| {
                        let top = &mut tops[qi - q0];
                        let keep = |top: &mut Vec<(f32, i64)>, cj: usize, score: f32| {
                            if !(exclude_self && qi == cj) {
                                offer(top, k, score, cj as i64, metric);
                            }
                        };
                        // Until k are held every score is a candidate.
                        let mut start = 0;
                        while top.len() < k && start < row.len() {
                            keep(top, c0 + start, row[start]);
                            start += 1;
                        }
                        if start < row.len() {
                            let bar = top[k - 1].0;
                            candidates(
                                &row[start..],
                                bar,
                                false,
                                metric,
                                c0 + start,
                                |cj, score| {
                                    keep(top, cj, score);
                                    top[k - 1].0
                                },
                            );
                        }
                    });
                    for (i, top) in tops.iter().enumerate() {
                        for (slot, &(s, idx)) in top.iter().enumerate() {
                            out_scores[i * k + slot] = s;
                            out_indices[i * k + slot] = idx;
                        }
                    }
                })
        });
        crate::progress::advance(((w + 1) * wave * qb).min(queries.rows), queries.rows);
    }
    Ok((scores, indices))
}

/// The dense `[nq, nc]` score matrix (row-major), computed block by block in parallel.
pub fn similarities(queries: Matrix, corpus: Matrix, metric: Metric) -> Result<Vec<f32>> {
    let search = Search::new(queries, corpus, metric, None)?;
    let qb = query_block(queries.rows);
    let nc = corpus.rows;
    let mut out = vec![0f32; queries.rows * nc];
    if nc == 0 {
        return Ok(out);
    }
    parallel::install(|| {
        out.par_chunks_mut(qb * nc)
            .enumerate()
            .for_each(|(block, rows_out)| {
                let q0 = block * qb;
                search.scan(q0, rows_out.len() / nc, 0, |qi, c0, row| {
                    let at = (qi - q0) * nc + c0;
                    rows_out[at..at + row.len()].copy_from_slice(row);
                });
            })
    });
    Ok(out)
}

/// Every (query, corpus row, score) with a score at or above `threshold` (at or below
/// for squared L2), by query then corpus row. `exclude_self` as in [`knn`].
pub fn range_search(
    queries: Matrix,
    corpus: Matrix,
    threshold: f32,
    metric: Metric,
    corpus_block: Option<usize>,
    exclude_self: bool,
) -> Result<(Vec<i64>, Vec<i64>, Vec<f32>)> {
    if threshold.is_nan() {
        return Err(Error::bad_argument(
            "threshold",
            "threshold must be a number",
        ));
    }
    let search = Search::new(queries, corpus, metric, corpus_block)?;
    let qb = query_block(queries.rows);
    crate::progress::stage("search");
    let blocks: Vec<Vec<(u32, u32, f32)>> =
        parallel::map_interruptible(queries.rows.div_ceil(qb), |block| {
            let q0 = block * qb;
            let rows = qb.min(queries.rows - q0);
            let mut hits = Vec::new();
            search.scan(q0, rows, 0, |qi, c0, row| {
                candidates(row, threshold, true, metric, c0, |cj, score| {
                    if within(score, threshold, metric) && !(exclude_self && qi == cj) {
                        hits.push((qi as u32, cj as u32, score));
                    }
                    threshold
                });
            });
            // Tiles visit corpus blocks in order per query block: sort by query.
            hits.sort_by_key(|&(q, c, _)| (q, c));
            hits
        })?;
    Ok(flatten_hits(blocks))
}

/// Per-block hit lists, in block order, as three columns.
fn flatten_hits(blocks: Vec<Vec<(u32, u32, f32)>>) -> (Vec<i64>, Vec<i64>, Vec<f32>) {
    let total = blocks.iter().map(Vec::len).sum();
    let (mut q, mut c, mut s) = (
        Vec::with_capacity(total),
        Vec::with_capacity(total),
        Vec::with_capacity(total),
    );
    for (qi, cj, score) in blocks.into_iter().flatten() {
        q.push(qi as i64);
        c.push(cj as i64);
        s.push(score);
    }
    (q, c, s)
}

/// Every pair of rows `a < b` of one matrix whose score is within `threshold` (as in
/// [`range_search`]), by `a` then `b`. The score matrix is symmetric, so only the tiles
/// on and above the diagonal are multiplied: half the work of searching the matrix
/// against itself.
pub fn self_pairs(
    matrix: Matrix,
    threshold: f32,
    metric: Metric,
    block: Option<usize>,
) -> Result<(Vec<i64>, Vec<i64>, Vec<f32>)> {
    if threshold.is_nan() {
        return Err(Error::bad_argument(
            "threshold",
            "threshold must be a number",
        ));
    }
    let search = Search::new(matrix, matrix, metric, block)?;
    // Query blocks the size of corpus blocks, so block `b`'s diagonal tile starts at
    // corpus row `b * size`.
    let size = search.corpus_block;
    crate::progress::stage("search");
    let blocks: Vec<Vec<(u32, u32, f32)>> =
        parallel::map_interruptible(matrix.rows.div_ceil(size), |block| {
            let q0 = block * size;
            let mut hits = Vec::new();
            search.scan(q0, size.min(matrix.rows - q0), q0, |a, c0, row| {
                candidates(row, threshold, true, metric, c0, |b, score| {
                    if b > a && within(score, threshold, metric) {
                        hits.push((a as u32, b as u32, score));
                    }
                    threshold
                });
            });
            hits.sort_by_key(|&(a, b, _)| (a, b));
            hits
        })?;
    Ok(flatten_hits(blocks))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute(q: &[f32], c: &[f32], dim: usize, k: usize) -> Vec<i64> {
        let mut out = Vec::new();
        for qi in q.chunks(dim) {
            let mut s: Vec<(f32, i64)> = c
                .chunks(dim)
                .enumerate()
                .map(|(j, cj)| (qi.iter().zip(cj).map(|(a, b)| a * b).sum(), j as i64))
                .collect();
            s.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            out.extend(s.iter().take(k).map(|p| p.1));
            out.extend(std::iter::repeat_n(-1, k.saturating_sub(s.len())));
        }
        out
    }

    #[test]
    fn blocked_search_equals_brute_force() {
        let mut rng = crate::random::Rng::new(3);
        let dim = 7;
        let q: Vec<f32> = (0..70 * dim)
            .map(|_| (rng.below(1000) as f32) / 100.0 - 5.0)
            .collect();
        let c: Vec<f32> = (0..33 * dim)
            .map(|_| (rng.below(1000) as f32) / 100.0 - 5.0)
            .collect();
        let m = |data: &'static [f32], rows| Matrix {
            data,
            rows,
            dim,
            name: "m",
        };
        let (q, c): (&'static [f32], &'static [f32]) = (q.leak(), c.leak());
        for k in [1, 5, 40] {
            let (_, idx) = knn(m(q, 70), m(c, 33), k, Metric::Ip, Some(10), false).unwrap();
            assert_eq!(idx, brute(q, c, dim, k));
        }
    }

    #[test]
    fn self_pairs_equal_the_upper_half_of_a_brute_force_self_join() {
        let mut rng = crate::random::Rng::new(5);
        let (n, dim) = (57, 4);
        // Small integers: every product is exact, so each orientation scores alike.
        let x: &'static [f32] = (0..n * dim)
            .map(|_| rng.below(7) as f32 - 3.0)
            .collect::<Vec<_>>()
            .leak();
        let m = Matrix {
            data: x,
            rows: n,
            dim,
            name: "m",
        };
        let norms = m.squared_norms();
        for (metric, threshold) in [(Metric::Ip, 4.0), (Metric::L2, 9.0), (Metric::Cosine, 0.5)] {
            let mut want = (Vec::new(), Vec::new());
            for a in 0..n {
                for b in a + 1..n {
                    let dot: f32 = m.row(a).iter().zip(m.row(b)).map(|(p, q)| p * q).sum();
                    let score = match metric {
                        Metric::Ip => dot,
                        Metric::L2 => norms[a] + norms[b] - 2.0 * dot,
                        Metric::Cosine => dot / (norms[a] * norms[b]).sqrt(),
                    };
                    if norms[a] * norms[b] > 0.0 && within(score, threshold, metric) {
                        want.0.push(a as i64);
                        want.1.push(b as i64);
                    }
                }
            }
            assert!(want.0.len() > 10, "{metric:?} finds pairs");
            if metric == Metric::Cosine && norms.contains(&0.0) {
                continue;
            }
            for block in [1, 10, 16, 100] {
                let (a, b, _) = self_pairs(m, threshold, metric, Some(block)).unwrap();
                assert_eq!((a, b), want, "{metric:?}, block {block}");
                let (qa, cb, _) = range_search(m, m, threshold, metric, Some(block), true).unwrap();
                let upper: (Vec<i64>, Vec<i64>) = qa
                    .iter()
                    .zip(&cb)
                    .filter(|(q, c)| q < c)
                    .map(|(q, c)| (*q, *c))
                    .unzip();
                assert_eq!(upper, want, "{metric:?}, block {block}");
            }
        }
    }
}
