//! The pair writer and the table writer (`pairs::pair_table`) on generated groups:
//! every pair written points at its own group's completions and scores, the texts
//! copied or dictionary-encoded read back the same, the strategies' own counts hold,
//! and the result does not depend on the text layout or on splitting the prompts into
//! batches (`first_group`).

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, Float64Array, StringArray};
use arrow_schema::DataType;
use prefcore_core::columns::ListColumn;

#[path = "../benches/common/mod.rs"]
mod common;
use common::list_of;
use prefcore_core::pairs::{
    pair_table, PairOptions, ShortGroups, Strategy as PairStrategy, TextLayout, Ties,
};
use proptest::prelude::*;

/// Groups of (completion text, score); scores from a few values, so ties happen.
fn groups() -> impl Strategy<Value = Vec<Vec<(String, i8)>>> {
    proptest::collection::vec(
        proptest::collection::vec(("[a-cé]{0,4}", -2i8..3), 0..7),
        1..12,
    )
}

struct Input {
    prompts: ArrayRef,
    completions: ArrayRef,
    scores: ArrayRef,
}

fn input(groups: &[Vec<(String, i8)>]) -> Input {
    // Flattened iterators have no upper size bound, which Arrow's builders need.
    let texts: Vec<&str> = groups.iter().flatten().map(|(t, _)| t.as_str()).collect();
    let scores: Vec<f64> = groups
        .iter()
        .flatten()
        .map(|&(_, s)| f64::from(s))
        .collect();
    let (texts, scores) = (StringArray::from(texts), Float64Array::from(scores));
    Input {
        prompts: Arc::new(StringArray::from_iter_values(
            (0..groups.len()).map(|g| format!("p{g}")),
        )),
        completions: list_of(Arc::new(texts), groups.iter().map(Vec::len)),
        scores: list_of(Arc::new(scores), groups.iter().map(Vec::len)),
    }
}

/// A text column as strings, whatever its layout (plain or dictionary).
fn strings(a: &ArrayRef) -> Vec<String> {
    let plain = match a.data_type() {
        DataType::Dictionary(_, _) => arrow_cast::cast(a, &DataType::Utf8).unwrap(),
        _ => a.clone(),
    };
    plain
        .as_string::<i32>()
        .iter()
        .map(|s| s.unwrap().to_string())
        .collect()
}

fn column<'a>(cols: &'a [(String, ArrayRef)], name: &str) -> &'a ArrayRef {
    &cols.iter().find(|(n, _)| n == name).unwrap().1
}

fn run(groups: &[Vec<(String, i8)>], options: &PairOptions) -> Vec<(String, ArrayRef)> {
    let i = input(groups);
    let scores = ListColumn::new("scores", &i.scores).unwrap();
    pair_table(
        Some(("prompt", &i.prompts)),
        ("completions", &i.completions),
        &scores,
        options,
    )
    .unwrap()
    .0
}

fn strategies() -> impl Strategy<Value = (PairStrategy, Ties)> {
    (
        prop_oneof![
            Just(PairStrategy::BestWorst),
            Just(PairStrategy::BestRandom),
            Just(PairStrategy::BestVsRest),
            Just(PairStrategy::TopKBottomK),
            Just(PairStrategy::AllPairs),
            Just(PairStrategy::RandomPairs),
        ],
        prop_oneof![Just(Ties::Drop), Just(Ties::Keep), Just(Ties::Random)],
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_pair_points_into_its_own_group(
        groups in groups(), (strategy, ties) in strategies(), k in 1usize..3, margin in 0i8..2, seed in 0u64..4,
        first in prop_oneof![Just(0u64), 1u64..1000],
    ) {
        // `first` > 0: a later batch of a dataset, whose group ids start there.
        let options = PairOptions {
            strategy, ties, k, seed, min_margin: f64::from(margin),
            short_groups: ShortGroups::Skip, first_group: first, ..PairOptions::default()
        };
        let cols = run(&groups, &options);
        let group = column(&cols, "group_id").as_primitive::<Int64Type>().values().to_vec();
        let ci = column(&cols, "chosen_index").as_primitive::<Int64Type>().values().to_vec();
        let ri = column(&cols, "rejected_index").as_primitive::<Int64Type>().values().to_vec();
        let sc = column(&cols, "score_chosen").as_primitive::<Float64Type>().values().to_vec();
        let sr = column(&cols, "score_rejected").as_primitive::<Float64Type>().values().to_vec();
        let margin_col = column(&cols, "margin").as_primitive::<Float64Type>().values().to_vec();
        let (chosen, rejected, prompt) =
            (strings(column(&cols, "chosen")), strings(column(&cols, "rejected")), strings(column(&cols, "prompt")));
        for r in 0..group.len() {
            prop_assert!(group[r] >= first as i64);
            let local = group[r] as usize - first as usize;
            let g = &groups[local];
            let (c, j) = (ci[r] as usize, ri[r] as usize);
            prop_assert!(c != j);
            prop_assert_eq!(&chosen[r], &g[c].0);
            prop_assert_eq!(&rejected[r], &g[j].0);
            prop_assert_eq!(&prompt[r], &format!("p{local}"));
            prop_assert_eq!((sc[r], sr[r]), (f64::from(g[c].1), f64::from(g[j].1)));
            prop_assert_eq!(margin_col[r], sc[r] - sr[r]);
            prop_assert!(sc[r] - sr[r] >= f64::from(margin));
            if ties == Ties::Drop {
                prop_assert!(sc[r] > sr[r]);
            }
        }
        // Groups come out in input order.
        prop_assert!(group.windows(2).all(|w| w[0] <= w[1]));
        if strategy == PairStrategy::AllPairs {
            // Every ordered pair clear of the margin, once (ties once, when kept).
            let want: usize = groups.iter().map(|g| {
                let mut n = 0;
                for a in 0..g.len() { for b in 0..g.len() {
                    let (x, y) = (f64::from(g[a].1), f64::from(g[b].1));
                    if x > y && x - y >= f64::from(margin) { n += 1; }
                    if ties != Ties::Drop && x == y && a < b && margin == 0 { n += 1; }
                }}
                n
            }).sum();
            prop_assert_eq!(group.len(), want);
        }
    }

    #[test]
    fn layouts_and_batches_give_the_same_pairs(
        groups in groups(), (strategy, ties) in strategies(), seed in 0u64..4, split in 0usize..12,
    ) {
        let base = PairOptions { strategy, ties, seed, short_groups: ShortGroups::Skip, ..PairOptions::default() };
        let copied = run(&groups, &base);
        let dict = run(&groups, &PairOptions { texts: TextLayout::Dictionary, ..base.clone() });
        for name in ["prompt", "chosen", "rejected"] {
            prop_assert!(matches!(column(&dict, name).data_type(), DataType::Dictionary(_, _)));
            prop_assert_eq!(strings(column(&copied, name)), strings(column(&dict, name)));
        }
        // The same prompts in two batches, the second told where it starts.
        let split = split.min(groups.len());
        let first = run(&groups[..split], &base);
        let second = run(&groups[split..], &PairOptions { first_group: split as u64, ..base.clone() });
        let texts = |cols: &[(String, ArrayRef)]| strings(column(cols, "chosen")).into_iter()
            .zip(strings(column(cols, "rejected"))).collect::<Vec<_>>();
        let mut joined = texts(&first);
        joined.extend(texts(&second));
        prop_assert_eq!(joined, texts(&copied));
    }
}
