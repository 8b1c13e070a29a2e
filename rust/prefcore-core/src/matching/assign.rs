//! One-to-one matching of two sets from a dense score matrix (`scores[i * nb + j]`,
//! higher is better): greedy by descending score, mutual nearest neighbours,
//! Hungarian (maximum total, as `scipy.optimize.linear_sum_assignment(maximize=True)`)
//! and stable marriage (rows propose). Optional CSLS rescoring.

use crate::error::{Error, Result};
use crate::parse_option;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Greedy,
    Mutual,
    Hungarian,
    Stable,
}

parse_option!(Method, "method", {
    "greedy" => Method::Greedy,
    "mutual" => Method::Mutual,
    "hungarian" => Method::Hungarian,
    "stable" => Method::Stable,
});

/// CSLS: `2·s − r_a − r_b`, `r` the mean of each row's (column's) `k` best scores.
pub fn csls(scores: &[f32], na: usize, nb: usize, k: usize) -> Vec<f32> {
    let mean_top = |values: &mut Vec<f32>| -> f32 {
        let k = k.min(values.len()).max(1);
        values.sort_unstable_by(|a, b| b.total_cmp(a));
        values.iter().take(k).sum::<f32>() / k as f32
    };
    let mut buf = Vec::new();
    let r_a: Vec<f32> = (0..na)
        .map(|i| {
            buf.clear();
            buf.extend_from_slice(&scores[i * nb..(i + 1) * nb]);
            mean_top(&mut buf)
        })
        .collect();
    let r_b: Vec<f32> = (0..nb)
        .map(|j| {
            buf.clear();
            buf.extend((0..na).map(|i| scores[i * nb + j]));
            mean_top(&mut buf)
        })
        .collect();
    (0..na * nb)
        .map(|x| 2.0 * scores[x] - r_a[x / nb] - r_b[x % nb])
        .collect()
}

fn best_in(values: impl Iterator<Item = (usize, f32)>) -> Option<usize> {
    // Highest score, lowest index on ties.
    values
        .fold(None, |best: Option<(usize, f32)>, (j, s)| match best {
            Some((_, bs)) if bs >= s => best,
            _ => Some((j, s)),
        })
        .map(|(j, _)| j)
}

fn greedy(scores: &[f32], na: usize, nb: usize) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..na * nb).collect();
    order.sort_by(|&x, &y| scores[y].total_cmp(&scores[x]).then(x.cmp(&y)));
    let (mut used_a, mut used_b) = (vec![false; na], vec![false; nb]);
    let mut out = Vec::new();
    for x in order {
        let (i, j) = (x / nb, x % nb);
        if !used_a[i] && !used_b[j] {
            used_a[i] = true;
            used_b[j] = true;
            out.push((i, j));
        }
    }
    out
}

fn mutual(scores: &[f32], na: usize, nb: usize) -> Vec<(usize, usize)> {
    let best_b: Vec<Option<usize>> = (0..na)
        .map(|i| best_in((0..nb).map(|j| (j, scores[i * nb + j]))))
        .collect();
    let best_a: Vec<Option<usize>> = (0..nb)
        .map(|j| best_in((0..na).map(|i| (i, scores[i * nb + j]))))
        .collect();
    (0..na)
        .filter_map(|i| best_b[i].filter(|&j| best_a[j] == Some(i)).map(|j| (i, j)))
        .collect()
}

/// Maximum-total assignment of the rows of an `n × m` matrix (`n <= m`) by shortest
/// augmenting paths with potentials, O(n²·m).
fn hungarian_rows(score: impl Fn(usize, usize) -> f64, n: usize, m: usize) -> Vec<usize> {
    let inf = f64::INFINITY;
    let (mut u, mut v) = (vec![0.0; n + 1], vec![0.0; m + 1]);
    let mut p = vec![0usize; m + 1]; // p[j]: row (1-based) matched to column j
    let mut way = vec![0usize; m + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![inf; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let (mut delta, mut j1) = (inf, 0);
            for j in 1..=m {
                if !used[j] {
                    let cur = -score(i0 - 1, j - 1) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut row_to_col = vec![0; n];
    for j in 1..=m {
        if p[j] != 0 {
            row_to_col[p[j] - 1] = j - 1;
        }
    }
    row_to_col
}

fn hungarian(scores: &[f32], na: usize, nb: usize) -> Vec<(usize, usize)> {
    if na == 0 || nb == 0 {
        return Vec::new();
    }
    if na <= nb {
        let cols = hungarian_rows(|i, j| scores[i * nb + j] as f64, na, nb);
        cols.into_iter().enumerate().collect()
    } else {
        let rows = hungarian_rows(|j, i| scores[i * nb + j] as f64, nb, na);
        let mut out: Vec<(usize, usize)> =
            rows.into_iter().enumerate().map(|(j, i)| (i, j)).collect();
        out.sort_unstable();
        out
    }
}

/// Gale-Shapley with the rows proposing in order of their scores.
fn stable(scores: &[f32], na: usize, nb: usize) -> Vec<(usize, usize)> {
    let prefs: Vec<Vec<usize>> = (0..na)
        .map(|i| {
            let mut order: Vec<usize> = (0..nb).collect();
            order.sort_by(|&x, &y| {
                scores[i * nb + y]
                    .total_cmp(&scores[i * nb + x])
                    .then(x.cmp(&y))
            });
            order
        })
        .collect();
    let mut next = vec![0usize; na];
    let mut holder: Vec<Option<usize>> = vec![None; nb];
    let mut free: Vec<usize> = (0..na).rev().collect();
    while let Some(i) = free.pop() {
        if next[i] >= nb {
            continue; // rejected everywhere: stays unmatched
        }
        let j = prefs[i][next[i]];
        next[i] += 1;
        match holder[j] {
            None => holder[j] = Some(i),
            Some(h) => {
                let (si, sh) = (scores[i * nb + j], scores[h * nb + j]);
                if si > sh || (si == sh && i < h) {
                    holder[j] = Some(i);
                    free.push(h);
                } else {
                    free.push(i);
                }
            }
        }
    }
    let mut out: Vec<(usize, usize)> = holder
        .iter()
        .enumerate()
        .filter_map(|(j, h)| h.map(|i| (i, j)))
        .collect();
    out.sort_unstable();
    out
}

/// Matched `(a, b)` pairs by `method`, ordered by `a`.
pub fn assign(scores: &[f32], na: usize, nb: usize, method: Method) -> Result<Vec<(usize, usize)>> {
    if scores.len() != na * nb {
        return Err(Error::argument(format!(
            "{} scores for {na} x {nb}",
            scores.len()
        )));
    }
    if let Some(x) = scores.iter().position(|s| !s.is_finite()) {
        return Err(Error::value(
            "scores",
            x / nb.max(1),
            "non-finite similarity",
        ));
    }
    let mut out = match method {
        Method::Greedy => greedy(scores, na, nb),
        Method::Mutual => mutual(scores, na, nb),
        Method::Hungarian => hungarian(scores, na, nb),
        Method::Stable => stable(scores, na, nb),
    };
    out.sort_unstable();
    Ok(out)
}

/// Matched pairs, one entry per pair.
#[derive(Debug, Default)]
pub struct Matches {
    pub a: Vec<i64>,
    pub b: Vec<i64>,
    pub score: Vec<f32>,
    pub rank: Vec<i64>,
}

/// Matched pairs of two embedding sets: `(a_idx, b_idx, score, rank)`, where `score`
/// is the (CSLS-rescored when `csls_k` is given) similarity and `rank` the position of
/// `b` among all of `a`'s candidates by that score (1 = `a`'s best).
pub fn match_sets(
    a: super::Matrix,
    b: super::Matrix,
    metric: super::Metric,
    method: Method,
    csls_k: Option<usize>,
) -> Result<Matches> {
    let (na, nb) = (a.rows, b.rows);
    let mut scores = super::similarities(a, b, metric)?;
    if metric == super::Metric::L2 {
        // Higher is better everywhere below.
        scores.iter_mut().for_each(|s| *s = -*s);
    }
    if let Some(k) = csls_k {
        if k == 0 {
            return Err(Error::bad_argument(
                "csls_k",
                "csls_k must be at least 1 (the neighbours averaged for each row)",
            ));
        }
        scores = csls(&scores, na, nb, k);
    }
    let pairs = assign(&scores, na, nb, method)?;
    let mut out = Matches::default();
    for (i, j) in pairs {
        let s = scores[i * nb + j];
        let row = &scores[i * nb..(i + 1) * nb];
        let rank = 1 + row.iter().filter(|&&x| x > s).count();
        // Report the metric's own value: squared distance for L2 without CSLS.
        let reported = if metric == super::Metric::L2 && csls_k.is_none() {
            -s
        } else {
            s
        };
        out.a.push(i as i64);
        out.b.push(j as i64);
        out.score.push(reported);
        out.rank.push(rank as i64);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hungarian_beats_greedy_where_greedy_is_myopic() {
        // Greedy takes 0.9 then 0.1 (total 1.0); the optimum is 0.8 + 0.8.
        let s = [0.9, 0.8, 0.8, 0.1];
        assert_eq!(
            assign(&s, 2, 2, Method::Greedy).unwrap(),
            vec![(0, 0), (1, 1)]
        );
        assert_eq!(
            assign(&s, 2, 2, Method::Hungarian).unwrap(),
            vec![(0, 1), (1, 0)]
        );
        // Rectangular either way.
        let wide = [1.0, 5.0, 3.0, 4.0, 2.0, 6.0];
        assert_eq!(
            assign(&wide, 2, 3, Method::Hungarian).unwrap(),
            vec![(0, 1), (1, 2)]
        );
        let tall = [1.0, 4.0, 5.0, 2.0, 3.0, 6.0];
        assert_eq!(
            assign(&tall, 3, 2, Method::Hungarian).unwrap(),
            vec![(1, 0), (2, 1)]
        );
    }

    #[test]
    fn mutual_and_stable_by_hand() {
        let s = [0.9, 0.8, 0.95, 0.1];
        // a0's best is b0, b0's best is a1: only (1, 0) is mutual.
        assert_eq!(assign(&s, 2, 2, Method::Mutual).unwrap(), vec![(1, 0)]);
        // a0 proposes to b0, loses it to a1, then gets b1.
        assert_eq!(
            assign(&s, 2, 2, Method::Stable).unwrap(),
            vec![(0, 1), (1, 0)]
        );
    }
}
