//! The pair table: the pairs [`super::construct`] chose, written out as Arrow columns
//! in one parallel pass per task (numbers, and dictionary keys or copied texts), or
//! with texts gathered afterwards for values that are not strings.

use std::mem::MaybeUninit;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, DictionaryArray, Float64Array, Int32Array, Int64Array, OffsetSizeTrait,
};
use arrow_buffer::{NullBuffer, ScalarBuffer};
use rayon::prelude::*;

use super::construct::{
    pair_chunks, reads_every_completion, total_stats, Chunk, PairOptions, PairStats, Position,
    TextLayout, TextLengths,
};
use crate::columns::{list_parts, ListColumn};
use crate::error::{Error, Result};
use crate::gather::{gather_columns, StrSource, TextColumns, TextWriter};
use crate::parallel;
use crate::staggered::StaggeredBuf;

/// The numeric output columns, one row per pair.
struct PairColumns {
    group: ScalarBuffer<i64>,
    chosen: ScalarBuffer<i64>,
    rejected: ScalarBuffer<i64>,
    score_chosen: ScalarBuffer<f64>,
    score_rejected: ScalarBuffer<f64>,
    margin: ScalarBuffer<f64>,
}

/// What the numeric pass also writes for the text columns, while each pair's group
/// and positions are in registers and its group's data in cache.
enum TextPrep<'a> {
    /// Nothing: the texts are gathered afterwards (values that are not strings).
    Gather,
    /// Dictionary keys: the prompt's row, and each completion's index in the flat
    /// completion values (`offsets` are the completion list's).
    Keys(&'a [usize]),
    /// The texts themselves, into each stretch's [`TextWriter`]s (prompt when given,
    /// chosen, rejected).
    Copy {
        prompt: Option<StrSource<'a>>,
        values: StrSource<'a>,
        offsets: &'a [usize],
    },
}

/// One task's stretch of every output column.
struct Stretch<'a, O, P> {
    chunk: &'a Chunk<P>,
    numbers: [&'a mut [MaybeUninit<i64>]; 3],
    scores: [&'a mut [MaybeUninit<f64>]; 3],
    /// Empty unless keys are written.
    keys: [&'a mut [MaybeUninit<i32>]; 3],
    /// Empty unless texts are copied.
    texts: Vec<TextWriter<'a, O>>,
}

/// Split `n` slots off the front of each column.
fn take_front<'a, T, const C: usize>(
    columns: &mut [&'a mut [MaybeUninit<T>]; C],
    n: usize,
) -> [&'a mut [MaybeUninit<T>]; C] {
    std::array::from_fn(|i| {
        let (front, rest) = std::mem::take(&mut columns[i]).split_at_mut(n);
        columns[i] = rest;
        front
    })
}

impl<O: OffsetSizeTrait, P: Position> Stretch<'_, O, P> {
    /// Fill this stretch with its chunk's pairs and what `prep` asks for, group by
    /// group (a group's scores, offset and prompt are looked up once).
    fn fill(self, scores: &ListColumn, prep: &TextPrep) {
        let Stretch {
            chunk,
            numbers: [g, c, r],
            scores: [sc, sr, m],
            keys: [kp, kc, kr],
            texts,
        } = self;
        let mut texts = texts.into_iter();
        let (mut tp, mut tc, mut tr) = match prep {
            TextPrep::Copy { prompt, .. } => (
                prompt.and_then(|_| texts.next()),
                texts.next(),
                texts.next(),
            ),
            _ => (None, None, None),
        };
        let mut buf = Vec::new();
        let mut spans: Vec<&[u8]> = Vec::new();
        let mut k = 0;
        for &(group, count) in &chunk.runs {
            let s = scores.values_of(group as usize, &mut buf);
            let made = &chunk.pairs[k..k + count];
            // One check per group lets the compiler drop the per-row ones.
            let end = k + count;
            assert!([g.len(), c.len(), r.len(), sc.len(), sr.len(), m.len()]
                .iter()
                .all(|&len| end <= len));
            let mut numbers = |k: usize, chosen: usize, rejected: usize| {
                let (high, low) = (s[chosen], s[rejected]);
                g[k].write(group as i64);
                c[k].write(chosen as i64);
                r[k].write(rejected as i64);
                sc[k].write(high);
                sr[k].write(low);
                m[k].write(high - low);
            };
            let pairs = (k..).zip(made.iter().map(|&(c, r)| (c.index(), r.index())));
            match prep {
                TextPrep::Gather => pairs.for_each(|(k, (c, r))| numbers(k, c, r)),
                TextPrep::Keys(offsets) => {
                    // In range: `pair_table` checked that every flat index fits an i32.
                    let base = offsets[group as usize];
                    for (k, (c, r)) in pairs {
                        numbers(k, c, r);
                        kp[k].write(group as i32);
                        kc[k].write((base + c) as i32);
                        kr[k].write((base + r) as i32);
                    }
                }
                TextPrep::Copy {
                    prompt,
                    values,
                    offsets,
                } => {
                    let base = offsets[group as usize];
                    // The group's prompt in a loop of its own, the rest row by row:
                    // measured fastest (splitting the rest too was slower).
                    if let (Some(w), Some(p)) = (&mut tp, prompt) {
                        let text = p.bytes(group as usize);
                        for k in k..end {
                            w.push(k, text);
                        }
                    }
                    // Where a completion joins several pairs, each completion's
                    // bytes are looked up once per group (10% off all_pairs x 16).
                    let n = scores.group_len(group as usize);
                    spans.clear();
                    if reads_every_completion(count, n) {
                        spans.extend((0..n).map(|i| values.bytes(base + i)));
                    }
                    let (Some(wc), Some(wr)) = (&mut tc, &mut tr) else {
                        unreachable!("copied texts have chosen and rejected writers")
                    };
                    if spans.is_empty() {
                        for (k, (c, r)) in pairs {
                            numbers(k, c, r);
                            wc.push(k, values.bytes(base + c));
                            wr.push(k, values.bytes(base + r));
                        }
                    } else {
                        for (k, (c, r)) in pairs {
                            numbers(k, c, r);
                            wc.push(k, spans[c]);
                            wr.push(k, spans[r]);
                        }
                    }
                }
            }
            k += count;
        }
        for w in [tp, tc, tr].iter().flatten() {
            w.check_full("a task's pairs");
        }
    }
}

impl PairColumns {
    /// Each chunk fills its own stretch of every column, straight into reserved memory
    /// (no zeroing pass over hundreds of megabytes first), and what `prep` asks for:
    /// dictionary keys (returned), or texts into `texts` (one set of writers per
    /// chunk). The columns are staggered as slots 0 to 5, the keys 6 to 8.
    fn write<O: OffsetSizeTrait, P: Position>(
        chunks: &[Chunk<P>],
        scores: &ListColumn,
        prep: TextPrep,
        texts: Vec<Vec<TextWriter<O>>>,
    ) -> (Self, [ScalarBuffer<i32>; 3]) {
        let total: usize = chunks.iter().map(|c| c.pairs.len()).sum();
        let with_keys = matches!(prep, TextPrep::Keys(_));
        let mut ints: [StaggeredBuf<i64>; 3] = std::array::from_fn(|s| StaggeredBuf::new(total, s));
        let mut floats: [StaggeredBuf<f64>; 3] =
            std::array::from_fn(|s| StaggeredBuf::new(total, 3 + s));
        let key_rows = if with_keys { total } else { 0 };
        let mut keys: [StaggeredBuf<i32>; 3] =
            std::array::from_fn(|s| StaggeredBuf::new(key_rows, 6 + s));
        let mut parts = Vec::with_capacity(chunks.len());
        {
            let mut int_room = ints.each_mut().map(StaggeredBuf::room);
            let mut float_room = floats.each_mut().map(StaggeredBuf::room);
            let mut key_room = keys.each_mut().map(StaggeredBuf::room);
            let mut texts = texts.into_iter();
            for chunk in chunks {
                let n = chunk.pairs.len();
                parts.push(Stretch {
                    chunk,
                    numbers: take_front(&mut int_room, n),
                    scores: take_front(&mut float_room, n),
                    keys: take_front(&mut key_room, if with_keys { n } else { 0 }),
                    texts: texts.next().unwrap_or_default(),
                });
            }
        }
        parallel::install(|| {
            parts
                .into_par_iter()
                .for_each(|stretch| stretch.fill(scores, &prep))
        });
        // SAFETY: the chunks' stretches tile `0..total` (`0..key_rows` for the keys)
        // and `fill` wrote every slot of each.
        let [group, chosen, rejected] = ints.map(|b| unsafe { b.finish() });
        let [score_chosen, score_rejected, margin] = floats.map(|b| unsafe { b.finish() });
        let out = PairColumns {
            group,
            chosen,
            rejected,
            score_chosen,
            score_rejected,
            margin,
        };
        (out, keys.map(|b| unsafe { b.finish() }))
    }
}

/// `keys` into `values` as a dictionary column. Every key must index `values`.
fn dictionary(keys: ScalarBuffer<i32>, values: &ArrayRef) -> ArrayRef {
    debug_assert!(keys.iter().all(|&k| (k as usize) < values.len()));
    let keys = Int32Array::new(keys, None);
    // SAFETY: the keys are prompt rows and flat completion positions of existing
    // groups, so each indexes `values` (checking them again costs a pass over
    // hundreds of megabytes).
    Arc::new(unsafe { DictionaryArray::<Int32Type>::new_unchecked(keys, values.clone()) })
}

/// The pairs as named columns: `prompt` (when given), `chosen`, `rejected` (values of
/// the completions list, any type; copied or dictionary-encoded as `options.texts`
/// says), scores, margin and positions.
pub fn pair_table(
    prompt: Option<(&str, &ArrayRef)>,
    completions: (&str, &ArrayRef),
    scores: &ListColumn,
    options: &PairOptions,
) -> Result<(Vec<(String, ArrayRef)>, PairStats)> {
    let (name, column) = completions;
    let expected = "a list of completions (strings or conversations) per row";
    let (offsets, values) = list_parts(name, column, expected)?;
    if offsets.len() != scores.offsets().len() {
        return Err(Error::argument(format!(
            "'{name}' has {} rows but '{}' has {}",
            offsets.len() - 1,
            scores.name(),
            scores.len()
        )));
    }
    let mut widest = 0;
    for g in 0..scores.len() {
        let (n, m) = (offsets[g + 1] - offsets[g], scores.group_len(g));
        widest = widest.max(n);
        if n != m {
            return Err(Error::value(
                scores.name(),
                g,
                format!("{m} scores for {n} completions in '{name}'"),
            ));
        }
    }
    if options.texts == TextLayout::Dictionary && values.len().max(scores.len()) > i32::MAX as usize
    {
        return Err(Error::bad_argument(
            "texts",
            format!(
                "texts='dictionary' indexes prompts and completions with int32 keys, but \
             '{name}' holds {} completions: use texts='copy'",
                values.len()
            ),
        ));
    }
    // Copied strings are checked as UTF-8 in one pass over whichever is smaller, the
    // pairs' texts or the completions (a bad text that no pair copies may then go
    // unreported, as it never leaves); anything else is checked here, whole.
    let check_output = options.texts == TextLayout::Copy
        && matches!(
            values.data_type(),
            arrow_schema::DataType::Utf8
                | arrow_schema::DataType::LargeUtf8
                | arrow_schema::DataType::Utf8View
        );
    if !check_output {
        crate::utf8::validate(name, column)?;
    }
    // Positions within a group fit 16 bits unless a group passes 2^16 completions.
    let (p, stats, texts) = if widest <= 1 << 16 {
        layout_columns::<u16>(prompt, &offsets, &values, scores, options)?
    } else {
        layout_columns::<u32>(prompt, &offsets, &values, scores, options)?
    };
    if check_output {
        // The chosen and rejected columns come after the prompt's, when there is one.
        let sides = &texts[usize::from(prompt.is_some())..];
        let out_bytes: usize = sides.iter().map(|a| a.get_buffer_memory_size()).sum();
        if out_bytes > values.get_buffer_memory_size() {
            // More text out than in (all_pairs): one pass over the input is cheaper.
            crate::utf8::validate(name, column)?;
        } else {
            for side in sides {
                if let Some(row) = crate::utf8::first_invalid(side.as_ref()) {
                    return Err(crate::utf8::invalid(name, p.group[row] as usize));
                }
            }
        }
    }
    let mut names: Vec<String> = prompt.map(|(n, _)| n.to_string()).into_iter().collect();
    names.extend(["chosen".to_string(), "rejected".to_string()]);
    let mut columns: Vec<(String, ArrayRef)> = names.into_iter().zip(texts).collect();
    let float = |v: ScalarBuffer<f64>| -> ArrayRef { Arc::new(Float64Array::new(v, None)) };
    let int = |v: ScalarBuffer<i64>| -> ArrayRef { Arc::new(Int64Array::new(v, None)) };
    columns.extend([
        ("score_chosen".to_string(), float(p.score_chosen)),
        ("score_rejected".to_string(), float(p.score_rejected)),
        ("margin".to_string(), float(p.margin)),
        (
            "group_id".to_string(),
            int(shift(p.group, options.first_group)),
        ),
        ("chosen_index".to_string(), int(p.chosen)),
        ("rejected_index".to_string(), int(p.rejected)),
    ]);
    Ok((columns, stats))
}

/// Group indices of this table as indices in the whole dataset, `first` groups on.
fn shift(group: ScalarBuffer<i64>, first: u64) -> ScalarBuffer<i64> {
    if first == 0 {
        return group;
    }
    let first = first as i64;
    group.iter().map(|g| g + first).collect()
}

/// The numeric columns, the stats and the text columns (prompt when given, chosen,
/// rejected) in the layout `options.texts` asks for; positions within a group are
/// held as `P` between choosing the pairs and writing them.
fn layout_columns<P: Position>(
    prompt: Option<(&str, &ArrayRef)>,
    offsets: &[usize],
    values: &ArrayRef,
    scores: &ListColumn,
    options: &PairOptions,
) -> Result<(PairColumns, PairStats, Vec<ArrayRef>)> {
    let prompt_source = prompt.map(|(_, p)| StrSource::of(p));
    let out = match (options.texts, StrSource::of(values), prompt_source) {
        (TextLayout::Dictionary, _, _) => {
            let chunks = pair_chunks::<P, _>(scores, options, None::<&TextSources>)?;
            let prep = TextPrep::Keys(offsets);
            let (p, [kp, kc, kr]) = PairColumns::write::<i32, _>(&chunks, scores, prep, Vec::new());
            let mut texts: Vec<ArrayRef> =
                prompt.map(|(_, t)| dictionary(kp, t)).into_iter().collect();
            texts.extend([dictionary(kc, values), dictionary(kr, values)]);
            (p, total_stats(&chunks), texts)
        }
        // Strings (and a string prompt, if any): copied in the numeric pass.
        (TextLayout::Copy, Some(values_source), None | Some(Some(_))) => {
            let source = TextSources {
                prompt: prompt_source.flatten(),
                values: values_source,
                offsets,
            };
            source.copy::<P>(scores, options)?
        }
        // Conversations or other values: gathered after the numeric pass.
        (TextLayout::Copy, _, _) => {
            let chunks = pair_chunks::<P, _>(scores, options, None::<&TextSources>)?;
            let stats = total_stats(&chunks);
            let (p, _) =
                PairColumns::write::<i32, _>(&chunks, scores, TextPrep::Gather, Vec::new());
            drop(chunks);
            let flat = |i: usize, at: &[i64]| offsets[p.group[i] as usize] + at[i] as usize;
            let texts = match prompt {
                Some((_, prompt)) => {
                    gather_columns([prompt, values, values], p.group.len(), |i| {
                        [
                            p.group[i] as usize,
                            flat(i, &p.chosen),
                            flat(i, &p.rejected),
                        ]
                    })?
                    .to_vec()
                }
                None => gather_columns([values, values], p.group.len(), |i| {
                    [flat(i, &p.chosen), flat(i, &p.rejected)]
                })?
                .to_vec(),
            };
            (p, stats, texts)
        }
    };
    Ok(out)
}

/// Where copied pair texts come from.
struct TextSources<'a> {
    prompt: Option<StrSource<'a>>,
    values: StrSource<'a>,
    /// The completion list's offsets into `values`.
    offsets: &'a [usize],
}

impl TextLengths for TextSources<'_> {
    #[inline]
    fn prompt(&self, g: usize) -> usize {
        self.prompt.map_or(0, |p| p.span(g).len())
    }

    #[inline]
    fn completion(&self, g: usize, i: usize) -> usize {
        self.values.span(self.offsets[g] + i).len()
    }
}

impl TextSources<'_> {
    /// The numeric columns and the copied texts (prompt when given, chosen,
    /// rejected): each task counts its pairs' bytes as it makes them, so the numeric
    /// pass writes the texts too, without a pass of its own.
    fn copy<P: Position>(
        &self,
        scores: &ListColumn,
        options: &PairOptions,
    ) -> Result<(PairColumns, PairStats, Vec<ArrayRef>)> {
        let chunks = pair_chunks::<P, _>(scores, options, Some(self))?;
        let stats = total_stats(&chunks);
        let first = usize::from(self.prompt.is_none()); // the prompt column, if any
        let totals: Vec<usize> = (first..3)
            .map(|c| chunks.iter().map(|k| k.bytes[c]).sum())
            .collect();
        let (p, texts) = if totals.iter().all(|&t| t <= i32::MAX as usize) {
            self.write::<i32, _>(&chunks, scores, &totals)
        } else {
            self.write::<i64, _>(&chunks, scores, &totals)
        };
        Ok((p, stats, texts))
    }

    fn write<O: OffsetSizeTrait, P: Position>(
        &self,
        chunks: &[Chunk<P>],
        scores: &ListColumn,
        totals: &[usize],
    ) -> (PairColumns, Vec<ArrayRef>) {
        let first = 3 - totals.len();
        let rows: Vec<usize> = chunks.iter().map(|k| k.pairs.len()).collect();
        let bytes: Vec<Vec<usize>> = chunks.iter().map(|k| k.bytes[first..].to_vec()).collect();
        let len: usize = rows.iter().sum();
        // Slots after the six numeric columns written in the same pass.
        let mut texts = TextColumns::<O>::new(len, totals, 6);
        let prep = TextPrep::Copy {
            prompt: self.prompt,
            values: self.values,
            offsets: self.offsets,
        };
        let (p, _) = PairColumns::write(chunks, scores, prep, texts.writers(&rows, &bytes));
        // Nulls of the sources carry over, row by row.
        let (group, chosen, rejected) = (&p.group, &p.chosen, &p.rejected);
        let valid = |source: StrSource, row: &dyn Fn(usize) -> usize| {
            source
                .nulls()
                .map(|n| NullBuffer::from_iter((0..len).map(|i| n.is_valid(row(i)))))
        };
        let flat = |i: usize, at: &[i64]| self.offsets[group[i] as usize] + at[i] as usize;
        let mut nulls = Vec::new();
        if let Some(prompt) = self.prompt {
            nulls.push(valid(prompt, &|i| group[i] as usize));
        }
        nulls.push(valid(self.values, &|i| flat(i, chosen)));
        nulls.push(valid(self.values, &|i| flat(i, rejected)));
        // SAFETY: the chunks' writers tile the rows and, by the counts made with the
        // pairs (each writer checked full), the bytes; each copied whole strings of
        // string arrays.
        let arrays = unsafe { texts.finish(nulls) };
        (p, arrays)
    }
}
