//! Ranking and preference metrics.
//!
//! * [`trec`]: long run/qrels tables with trec_eval semantics.
//! * [`grouped`]: list columns of scores and labels (a prompt with its candidates).
//! * [`preference`]: reward-model accuracy and calibration on chosen/rejected scores.
//! * [`correlation`]: Kendall's tau-b and Spearman's rho per group.
//! * [`significance`]: paired tests between two systems' per-query values.

pub mod correlation;
pub mod grouped;
mod grouping;
pub mod preference;
pub mod ranked;
pub mod significance;
pub mod sort;
pub mod spec;
pub mod trec;

use arrow_array::ArrayRef;

pub use spec::{parse_metric, parse_metrics, Measure, MetricSpec, KNOWN_METRICS};

/// trec_eval's floor under each AP before the log of `gm_map` (its MIN_GEO_MEAN).
const GM_MAP_FLOOR: f64 = 1e-5;

/// Per-query (or per-group) values of several metrics, and their summary.
pub struct Evaluation {
    pub metrics: Vec<MetricSpec>,
    /// The id of each evaluated query or group, one per row of `values`.
    pub ids: ArrayRef,
    /// Row-major `[n_queries, n_metrics]`.
    pub values: Vec<f64>,
}

impl Evaluation {
    pub fn new(metrics: Vec<MetricSpec>, ids: ArrayRef, values: Vec<f64>) -> Self {
        Evaluation {
            metrics,
            ids,
            values,
        }
    }

    pub fn num_rows(&self) -> usize {
        self.ids.len()
    }

    /// The values of metric `m`, one per query.
    pub fn column(&self, m: usize) -> Vec<f64> {
        let nm = self.metrics.len();
        (0..self.num_rows())
            .map(|q| self.values[q * nm + m])
            .collect()
    }

    /// trec_eval's "all" line: counts are summed, `gm_map` is the geometric mean,
    /// everything else is the mean over queries. Summed in query order, so the thread count cannot change a bit; all
    /// metrics in one pass over the row-major values.
    pub fn summary(&self) -> Vec<f64> {
        let (n, nm) = (self.num_rows(), self.metrics.len());
        let mut totals = vec![0.0; nm];
        for row in self.values.chunks_exact(nm.max(1)).take(n) {
            for ((t, &v), spec) in totals.iter_mut().zip(row).zip(&self.metrics) {
                // gm_map sums logs, floored as trec_eval floors them (MIN_GEO_MEAN).
                *t += if spec.measure == Measure::GmMap {
                    v.max(GM_MAP_FLOOR).ln()
                } else {
                    v
                };
            }
        }
        totals
            .into_iter()
            .zip(&self.metrics)
            .map(|(total, spec)| {
                if spec.measure.is_count() || n == 0 {
                    total
                } else if spec.measure == Measure::GmMap {
                    (total / n as f64).exp()
                } else {
                    total / n as f64
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::StringArray;
    use std::sync::Arc;

    #[test]
    fn gm_map_summary_is_the_floored_geometric_mean() {
        let specs = parse_metrics(&["gm_map", "map"]).unwrap();
        let ids: ArrayRef = Arc::new(StringArray::from(vec!["q1", "q2", "q3"]));
        let e = Evaluation::new(specs, ids, vec![0.5, 0.5, 0.2, 0.2, 0.0, 0.0]);
        let summary = e.summary();
        let want = ((0.5f64.ln() + 0.2f64.ln() + 1e-5f64.ln()) / 3.0).exp();
        assert_eq!(summary[0], want);
        assert_eq!(summary[1], 0.7 / 3.0);
    }
}
