//! Metric names: parsing prefcore's names and trec_eval's aliases into one spec.

use crate::error::{Error, Result};

/// What a metric measures; the cutoff lives in [`MetricSpec`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Measure {
    /// nDCG with linear gain (trec_eval `ndcg`, `ndcg_cut`).
    Ndcg,
    /// nDCG with exponential gain 2^rel - 1 (Burges et al.).
    NdcgBurges,
    /// Unnormalised DCG, linear gain.
    Dcg,
    /// Average precision (trec_eval `map`, `map_cut`).
    Map,
    /// Reciprocal rank of the first relevant item (`recip_rank`).
    Mrr,
    /// Relevant in the top k divided by k (`P`).
    Precision,
    /// Relevant in the top k divided by all relevant (`recall`).
    Recall,
    /// Harmonic mean of precision@k and recall@k.
    F1,
    /// Precision at rank R, R = number of relevant (`Rprec`).
    RPrecision,
    /// 1 if any relevant item is in the top k (`success`).
    HitRate,
    /// Binary preference (trec_eval `bpref`); needs judged non-relevant documents.
    Bpref,
    /// Number of retrieved items.
    NumRet,
    /// Number of relevant items in the judgements.
    NumRel,
    /// Number of relevant items retrieved.
    NumRelRet,
    /// Interpolated precision at a recall level (trec_eval `iprec_at_recall`): the
    /// best precision at any rank whose recall reaches the level. The level, in
    /// hundredths, is the spec's cutoff.
    IprecAtRecall,
    /// Geometric mean of average precision over queries (trec_eval `gm_map`): each
    /// query's value is its AP; the summary is exp(mean(ln(max(AP, 1e-5)))).
    GmMap,
    /// Inferred average precision (trec_eval `infAP`), for judgements that sample the
    /// pool: a negative qrels grade marks a pooled but unjudged document. Equal to
    /// AP up to trec_eval's 1e-5 smoothing when every retrieved document is judged.
    InfAp,
}

impl Measure {
    /// Counts are summed over queries in the summary; everything else is averaged.
    pub fn is_count(self) -> bool {
        matches!(self, Measure::NumRet | Measure::NumRel | Measure::NumRelRet)
    }

    /// Metrics that are linear in the ranked labels, so tie-averaging is exact.
    pub fn supports_tie_average(self) -> bool {
        matches!(
            self,
            Measure::Ndcg
                | Measure::NdcgBurges
                | Measure::Dcg
                | Measure::Precision
                | Measure::Recall
                | Measure::F1
                | Measure::RPrecision
                | Measure::NumRet
                | Measure::NumRel
        )
    }
}

/// A parsed metric: what, at which cutoff, and the name the caller used.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSpec {
    pub measure: Measure,
    pub cutoff: Option<usize>,
    pub name: String,
}

impl MetricSpec {
    /// How deep into the ranking this metric looks (`None` = the whole list).
    pub fn depth(&self) -> Option<usize> {
        match self.measure {
            Measure::NumRet | Measure::NumRel => Some(0),
            Measure::RPrecision
            | Measure::Bpref
            | Measure::NumRelRet
            | Measure::IprecAtRecall
            | Measure::GmMap
            | Measure::InfAp => None,
            _ => self.cutoff,
        }
    }
}

/// The names `parse_metric` understands, for error messages and docs.
pub const KNOWN_METRICS: &str = "ndcg, ndcg@k, ndcg_burges@k, dcg@k, map, map@k, mrr, mrr@k, \
precision@k, recall@k, f1@k, r_precision, hit_rate@k, bpref, num_ret, num_rel, num_rel_ret, \
iprec_at_recall@l (l a recall level in [0, 1] in hundredths), gm_map, infAP \
(trec_eval aliases: ndcg_cut.k, P.k, recall.k, map_cut.k, recip_rank, Rprec, success.k, \
iprec_at_recall_0.50)";

/// `iprec_at_recall_0.50`, `iprec_at_recall@0.5`: the recall level in hundredths.
fn recall_level(name: &str, rest: &str) -> Result<usize> {
    let text = rest.trim_start_matches(['_', '@', '.']);
    let level: f64 = text.parse().map_err(|_| {
        Error::argument(format!(
            "metric '{name}' needs a recall level in [0, 1], e.g. 'iprec_at_recall_0.50'"
        ))
    })?;
    let hundredths = (level * 100.0).round();
    if !(0.0..=1.0).contains(&level) || (level * 100.0 - hundredths).abs() > 1e-9 {
        return Err(Error::argument(format!(
            "metric '{name}': the recall level must be in [0, 1] in steps of 0.01"
        )));
    }
    Ok(hundredths as usize)
}

/// Split `base@k`, `base.k` or `base_k` into the base name and the cutoff.
fn split_cutoff(name: &str) -> Result<(&str, Option<usize>)> {
    let split = name.rfind('@').or_else(|| name.rfind('.')).or_else(|| {
        // `P_10`, `ndcg_cut_10`: an underscore followed only by digits.
        name.rfind('_')
            .filter(|&i| i + 1 < name.len() && name[i + 1..].bytes().all(|b| b.is_ascii_digit()))
    });
    let Some(i) = split else {
        return Ok((name, None));
    };
    let (base, k) = (&name[..i], &name[i + 1..]);
    let k: usize = k.parse().map_err(|_| {
        Error::argument(format!(
            "metric '{name}': cutoff '{k}' is not a positive integer"
        ))
    })?;
    if k == 0 {
        return Err(Error::argument(format!(
            "metric '{name}': cutoff must be at least 1"
        )));
    }
    Ok((base, Some(k)))
}

/// Parse one metric name.
pub fn parse_metric(name: &str) -> Result<MetricSpec> {
    if let Some(rest) = name.trim().strip_prefix("iprec_at_recall") {
        return Ok(MetricSpec {
            measure: Measure::IprecAtRecall,
            cutoff: Some(recall_level(name, rest)?),
            name: name.to_string(),
        });
    }
    let (base, cutoff) = split_cutoff(name.trim())?;
    use Measure::*;
    let (measure, needs_cutoff, allows_cutoff) = match base {
        "ndcg" | "ndcg_cut" => (Ndcg, base == "ndcg_cut", true),
        "ndcg_burges" => (NdcgBurges, false, true),
        "dcg" => (Dcg, false, true),
        "map" | "map_cut" | "ap" => (Map, base == "map_cut", true),
        "mrr" | "recip_rank" => (Mrr, false, base == "mrr"),
        "precision" | "P" | "p" => (Precision, true, true),
        "recall" => (Recall, true, true),
        "f1" => (F1, true, true),
        "r_precision" | "Rprec" => (RPrecision, false, false),
        "hit_rate" | "success" => (HitRate, true, true),
        "bpref" => (Bpref, false, false),
        "num_ret" => (NumRet, false, false),
        "num_rel" => (NumRel, false, false),
        "num_rel_ret" => (NumRelRet, false, false),
        "gm_map" => (GmMap, false, false),
        "infAP" | "infap" => (InfAp, false, false),
        _ => {
            return Err(Error::argument(format!(
                "unknown metric '{name}'; known metrics: {KNOWN_METRICS}"
            )))
        }
    };
    if cutoff.is_none() && needs_cutoff {
        return Err(Error::argument(format!(
            "metric '{name}' needs a cutoff, e.g. '{base}@10'"
        )));
    }
    if cutoff.is_some() && !allows_cutoff {
        return Err(Error::argument(format!("metric '{name}' takes no cutoff")));
    }
    Ok(MetricSpec {
        measure,
        cutoff,
        name: name.to_string(),
    })
}

/// Parse a list of names, dropping exact repeats (first one wins).
pub fn parse_metrics<S: AsRef<str>>(names: &[S]) -> Result<Vec<MetricSpec>> {
    if names.is_empty() {
        return Err(Error::argument("no metrics requested"));
    }
    let mut specs: Vec<MetricSpec> = Vec::with_capacity(names.len());
    for n in names {
        let spec = parse_metric(n.as_ref())?;
        if !specs.iter().any(|s| s.name == spec.name) {
            specs.push(spec);
        }
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_parse_to_the_same_measure() {
        let a = parse_metric("ndcg_cut.10").unwrap();
        let b = parse_metric("ndcg@10").unwrap();
        let c = parse_metric("ndcg_cut_10").unwrap();
        assert_eq!((a.measure, a.cutoff), (b.measure, b.cutoff));
        assert_eq!((c.measure, c.cutoff), (Measure::Ndcg, Some(10)));
        assert_eq!(parse_metric("P.5").unwrap().measure, Measure::Precision);
        assert_eq!(parse_metric("P_5").unwrap().cutoff, Some(5));
        assert_eq!(
            parse_metric("success.10").unwrap().measure,
            Measure::HitRate
        );
        assert_eq!(parse_metric("recip_rank").unwrap().measure, Measure::Mrr);
        assert_eq!(parse_metric("Rprec").unwrap().measure, Measure::RPrecision);
        assert_eq!(
            parse_metric("num_rel_ret").unwrap().measure,
            Measure::NumRelRet
        );
    }

    #[test]
    fn bad_names_are_rejected_with_a_reason() {
        let e = parse_metric("ndgc@10").unwrap_err().to_string();
        assert!(e.contains("unknown metric 'ndgc@10'"), "{e}");
        assert!(parse_metric("precision")
            .unwrap_err()
            .to_string()
            .contains("needs a cutoff"));
        assert!(parse_metric("ndcg@0")
            .unwrap_err()
            .to_string()
            .contains("at least 1"));
        assert!(parse_metric("ndcg@x").is_err());
        assert!(parse_metric("bpref@5")
            .unwrap_err()
            .to_string()
            .contains("takes no cutoff"));
        assert!(parse_metrics::<&str>(&[]).is_err());
    }

    #[test]
    fn repeats_are_dropped() {
        let specs = parse_metrics(&["map", "map", "P.5"]).unwrap();
        assert_eq!(specs.len(), 2);
    }
}
