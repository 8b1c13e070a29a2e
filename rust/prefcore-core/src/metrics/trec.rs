//! TREC-style evaluation of long tables: a run (query, doc, score) against qrels
//! (query, doc, relevance), with trec_eval's semantics.
//!
//! * Ranking: score descending, then doc id descending in byte order.
//! * Queries: those in both run and qrels; with `complete`, every qrels query (a query
//!   missing from the run scores 0 on everything but `num_rel`).
//! * A document retrieved but absent from the qrels is unjudged: non-relevant, and
//!   skipped by bpref. A negative grade in the qrels (trec_eval's "-1: in the pool
//!   but not judged") is treated like an unjudged document, except by infAP, which
//!   counts such documents among those ranked above a relevant one.
//! * A duplicate (query, doc) in the run or in the qrels is an error, as in trec_eval.

use arrow_array::{ArrayRef, StringArray};
use rayon::prelude::*;

use super::grouping::Groups;
use super::ranked::{RankedList, POOLED_UNJUDGED, UNJUDGED};
use super::sort::Sorter;
use super::spec::MetricSpec;
use super::Evaluation;
use crate::columns::{relevance_i64, scores_f64, IdAccessor, Ids};
use crate::error::{Error, Result};
use crate::keys::hash_bytes;
use crate::parallel;

/// A named column of an input table.
#[derive(Clone, Copy)]
pub struct Column<'a> {
    pub name: &'a str,
    pub array: &'a ArrayRef,
}

/// The run: one row per retrieved document.
pub struct RunColumns<'a> {
    pub query: Column<'a>,
    pub doc: Column<'a>,
    pub score: Column<'a>,
}

/// The judgements: one row per judged document.
pub struct QrelsColumns<'a> {
    pub query: Column<'a>,
    pub doc: Column<'a>,
    pub relevance: Column<'a>,
}

/// trec_eval's options that change values.
#[derive(Clone, Copy, Debug)]
pub struct TrecOptions {
    /// Minimum grade counted as relevant by the binary metrics (`-l`).
    pub relevance_level: i64,
    /// Average over all qrels queries, not only those in the run (`-c`).
    pub complete: bool,
}

impl Default for TrecOptions {
    fn default() -> Self {
        TrecOptions {
            relevance_level: 1,
            complete: false,
        }
    }
}

fn check_len(what: &str, n: usize) -> Result<()> {
    if n >= u32::MAX as usize {
        return Err(Error::argument(format!(
            "{what} has {n} rows; at most 2^32 - 2 are supported"
        )));
    }
    Ok(())
}

fn check_same_len(a: Column, b: Column) -> Result<()> {
    if a.array.len() != b.array.len() {
        return Err(Error::argument(format!(
            "columns '{}' ({} rows) and '{}' ({} rows) differ in length",
            a.name,
            a.array.len(),
            b.name,
            b.array.len()
        )));
    }
    Ok(())
}

/// Per-query inputs, borrowed from the validated columns.
struct Sources<'a> {
    run_doc: IdAccessor<'a>,
    run_doc_name: &'a str,
    score: &'a [f64],
    qrels_doc: IdAccessor<'a>,
    qrels_doc_name: &'a str,
    rel: &'a [i64],
    level: i64,
}

fn duplicate_error(column: &str, query: &[u8], doc: &[u8]) -> Error {
    Error::InvalidQuery {
        column: column.to_string(),
        query_id: String::from_utf8_lossy(query).into_owned(),
        message: format!(
            "document '{}' appears more than once",
            String::from_utf8_lossy(doc)
        ),
    }
}

/// Buffers reused from query to query on one thread.
#[derive(Default)]
struct Scratch {
    /// Open-addressing table of the query's doc ids, judged and retrieved.
    table: Vec<Slot>,
    /// Run row and grade of each retrieved document, in table order.
    rows: Vec<u32>,
    rels: Vec<f64>,
    /// Score of each retrieved document, in `rows` order.
    scores: Vec<f64>,
    /// Indices into `rows`, sorted into the ranking.
    order: Vec<u32>,
    sorter: Sorter,
    ranked: Vec<f64>,
    ideal: Vec<f64>,
}

/// One entry of the per-query id table (8 bytes, so the table stays in L1).
/// `row == 0` marks an empty slot.
#[derive(Clone, Copy, Default)]
struct Slot {
    /// High bits of the id's hash; the low two bits hold the [`SlotState`].
    tag: u32,
    /// Qrels row + 1 for a judged document, run row + 1 for an unjudged retrieved one.
    row: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SlotState {
    Judged = 0,
    JudgedAndRetrieved = 1,
    Retrieved = 2,
}

impl Slot {
    fn new(h: u64, row: u32, state: SlotState) -> Self {
        Slot {
            tag: tag_of(h) | state as u32,
            row,
        }
    }

    fn state(self) -> SlotState {
        match self.tag & 3 {
            0 => SlotState::Judged,
            1 => SlotState::JudgedAndRetrieved,
            _ => SlotState::Retrieved,
        }
    }
}

/// The hash bits kept in a slot (the low bits already chose the slot).
#[inline]
fn tag_of(h: u64) -> u32 {
    (h >> 32) as u32 & !3
}

impl Sources<'_> {
    /// Find `doc` (hashed `h`) in the table, or the empty slot where it belongs.
    #[inline(always)]
    fn probe(&self, table: &[Slot], h: u64, doc: &[u8]) -> (usize, bool) {
        let mask = table.len() - 1;
        let tag = tag_of(h);
        let mut i = h as usize & mask;
        loop {
            let slot = table[i];
            if slot.row == 0 {
                return (i, false);
            }
            if slot.tag & !3 == tag {
                let other = match slot.state() {
                    SlotState::Retrieved => self.run_doc.get(slot.row as usize - 1),
                    _ => self.qrels_doc.get(slot.row as usize - 1),
                };
                if other == doc {
                    return (i, true);
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Score one query into `out` (one slot per metric).
    fn score_query(
        &self,
        query: &[u8],
        run_segments: &[(u32, u32)],
        qrels_segments: &[(u32, u32)],
        metrics: &[MetricSpec],
        s: &mut Scratch,
        out: &mut [f64],
    ) -> Result<()> {
        let run_doc = self.run_doc;
        s.rows.clear();
        for &(start, end) in run_segments {
            s.rows.extend(start..end);
        }
        s.ideal.clear();
        // The judged documents go into the table first (a duplicate is an error) ...
        let judged: usize = qrels_segments.iter().map(|&(a, b)| (b - a) as usize).sum();
        let qrels_rows = qrels_segments
            .iter()
            .flat_map(|&(a, b)| a as usize..b as usize);
        let capacity = (4 * (s.rows.len() + judged)).next_power_of_two().max(16);
        s.table.clear();
        s.table.resize(capacity, Slot::default());
        for r in qrels_rows {
            let doc = self.qrels_doc.get(r);
            let h = hash_bytes(doc);
            let (i, found) = self.probe(&s.table, h, doc);
            if found {
                return Err(duplicate_error(self.qrels_doc_name, query, doc));
            }
            s.table[i] = Slot::new(h, r as u32 + 1, SlotState::Judged);
            if self.rel[r] >= 0 {
                s.ideal.push(self.rel[r] as f64);
            }
        }
        // ... then each retrieved one finds its grade, or proves a duplicate.
        s.rels.clear();
        s.scores.clear();
        for i in 0..s.rows.len() {
            let row = s.rows[i];
            let doc = run_doc.get(row as usize);
            let h = hash_bytes(doc);
            let (at, found) = self.probe(&s.table, h, doc);
            let rel = if !found {
                s.table[at] = Slot::new(h, row + 1, SlotState::Retrieved);
                UNJUDGED
            } else if s.table[at].state() == SlotState::Judged {
                s.table[at] = Slot::new(h, s.table[at].row, SlotState::JudgedAndRetrieved);
                let r = self.rel[s.table[at].row as usize - 1];
                if r >= 0 {
                    r as f64
                } else {
                    POOLED_UNJUDGED
                }
            } else {
                return Err(duplicate_error(self.run_doc_name, query, doc));
            };
            s.rels.push(rel);
            s.scores.push(self.score[row as usize]);
        }
        // trec_eval's order: score descending, then doc id descending (byte order).
        // Ranking by score puts equal scores side by side; each such run is then
        // put in doc id order.
        s.sorter.rank_order(&s.scores, &mut s.order);
        let rows = &s.rows;
        let doc_of = |i: u32| run_doc.get(rows[i as usize] as usize);
        let ranked_scores = s.sorter.ranked_scores();
        let mut start = 0;
        for end in 1..=s.order.len() {
            if end == s.order.len() || ranked_scores[end] != ranked_scores[start] {
                if end - start > 1 {
                    s.order[start..end].sort_unstable_by(|&a, &b| doc_of(b).cmp(doc_of(a)));
                }
                start = end;
            }
        }
        s.ranked.clear();
        s.ranked.extend(s.order.iter().map(|&i| s.rels[i as usize]));

        s.ideal.sort_unstable_by(|a, b| b.total_cmp(a));
        let num_rel = s.ideal.iter().filter(|&&r| r >= self.level as f64).count();
        let list = RankedList {
            ranked: &s.ranked,
            tie_ends: None,
            num_ret: s.ranked.len(),
            ideal: &s.ideal,
            num_rel,
            num_judged_nonrel: s.ideal.len() - num_rel,
            level: self.level as f64,
            relevant_retrieved: None,
        };
        for (slot, spec) in out.iter_mut().zip(metrics) {
            *slot = list.score(spec);
        }
        Ok(())
    }
}

/// The first 8 bytes of an id, big-endian: comparing these is comparing the bytes.
fn id_prefix(id: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    let n = id.len().min(8);
    buf[..n].copy_from_slice(&id[..n]);
    u64::from_be_bytes(buf)
}

/// An evaluated query: its id, its group in the run and in the qrels (if any).
type Query<'a> = (&'a [u8], Option<usize>, Option<usize>);

/// Sort by id (byte order) in parallel, comparing cached 8-byte prefixes first.
fn sort_by_id(items: &mut Vec<Query<'_>>) {
    let mut keyed: Vec<(u64, Query)> = items.drain(..).map(|it| (id_prefix(it.0), it)).collect();
    parallel::install(|| {
        keyed.par_sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1 .0.cmp(b.1 .0)))
    });
    items.extend(keyed.into_iter().map(|(_, it)| it));
}

/// Evaluate `run` against `qrels`; one row of values per query, sorted by query id.
pub fn evaluate(
    run: &RunColumns,
    qrels: &QrelsColumns,
    metrics: &[MetricSpec],
    options: TrecOptions,
) -> Result<Evaluation> {
    check_same_len(run.query, run.doc)?;
    check_same_len(run.query, run.score)?;
    check_same_len(qrels.query, qrels.doc)?;
    check_same_len(qrels.query, qrels.relevance)?;
    check_len("the run", run.query.array.len())?;
    check_len("the qrels", qrels.query.array.len())?;

    let run_query = Ids::new(run.query.name, run.query.array)?;
    let run_doc = Ids::new(run.doc.name, run.doc.array)?;
    let score = scores_f64(run.score.name, run.score.array)?;
    let qrels_query = Ids::new(qrels.query.name, qrels.query.array)?;
    let qrels_doc = Ids::new(qrels.doc.name, qrels.doc.array)?;
    let rel = relevance_i64(qrels.relevance.name, qrels.relevance.array, true)?;

    let (run_groups, qrels_groups) = parallel::install(|| {
        rayon::join(
            || Groups::build(run_query.accessor(), run_query.len()),
            || Groups::build(qrels_query.accessor(), qrels_query.len()),
        )
    });

    // The evaluated queries: (id, group in run, group in qrels), sorted by id. The
    // lookups are independent: in parallel, they wait on memory side by side.
    let mut queries: Vec<Query> = parallel::install(|| {
        run_groups
            .keys
            .par_iter()
            .enumerate()
            .filter_map(|(g, key)| Some((key.bytes, Some(g), Some(qrels_groups.find(key)?))))
            .collect()
    });
    if options.complete {
        for (q, key) in qrels_groups.keys.iter().enumerate() {
            if run_groups.find(key).is_none() {
                queries.push((key.bytes, None, Some(q)));
            }
        }
    }
    sort_by_id(&mut queries);
    if queries.is_empty() {
        return Err(Error::argument(format!(
            "no query id of the run ('{}') is in the qrels ('{}'): nothing to evaluate",
            run.query.name, qrels.query.name
        )));
    }

    let sources = Sources {
        run_doc: run_doc.accessor(),
        run_doc_name: run.doc.name,
        score: score.values(),
        qrels_doc: qrels_doc.accessor(),
        qrels_doc_name: qrels.doc.name,
        rel: rel.values(),
        level: options.relevance_level,
    };
    let nm = metrics.len();
    let mut values = vec![0.0f64; queries.len() * nm];
    crate::progress::stage("queries");
    parallel::fill_rows(&mut values, nm, 64, |scratch: &mut Scratch, i, out| {
        let (key, rg, qg) = queries[i];
        let run_segments = rg.map_or(&[][..], |g| run_groups.segments(g));
        let qrels_segments = qg.map_or(&[][..], |g| qrels_groups.segments(g));
        sources.score_query(key, run_segments, qrels_segments, metrics, scratch, out)
    })?;
    let ids =
        StringArray::from_iter_values(queries.iter().map(|(k, _, _)| String::from_utf8_lossy(k)));
    Ok(Evaluation::new(
        metrics.to_vec(),
        std::sync::Arc::new(ids),
        values,
    ))
}
