//! Generated inputs shared by the criterion benches, the profiling examples and the
//! property tests (each includes this file with `#[path]`): reproducible, not random.
#![allow(dead_code)] // each includer uses its own part

use std::sync::Arc;

use arrow_array::{ArrayRef, FixedSizeListArray, Float64Array, Int64Array, ListArray, StringArray};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field};
use prefcore_core::metrics::trec;

/// A small LCG: inputs of a fixed seed, the same on every machine.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// `values` cut into lists of the given lengths.
pub fn list_of(values: ArrayRef, lengths: impl Iterator<Item = usize>) -> ArrayRef {
    let field = Arc::new(Field::new("item", values.data_type().clone(), true));
    Arc::new(ListArray::new(
        field,
        OffsetBuffer::from_lengths(lengths),
        values,
        None,
    ))
}

/// Grouped lists: `groups` rows of `width` scores in [0, 1) and labels 0–3, as
/// fixed-size lists.
pub fn grouped_lists(groups: usize, width: usize, rng: &mut Lcg) -> (ArrayRef, ArrayRef) {
    let scores: Vec<f64> = (0..groups * width)
        .map(|_| (rng.next() % 1000) as f64 / 1000.0)
        .collect();
    let labels: Vec<i64> = (0..groups * width)
        .map(|_| (rng.next() % 4) as i64)
        .collect();
    let fixed = |values: ArrayRef, item: DataType| -> ArrayRef {
        let field = Arc::new(Field::new("item", item, false));
        Arc::new(FixedSizeListArray::new(field, width as i32, values, None))
    };
    (
        fixed(Arc::new(Float64Array::from(scores)), DataType::Float64),
        fixed(Arc::new(Int64Array::from(labels)), DataType::Int64),
    )
}

/// A TREC run of `queries` × 100 documents and qrels of 10 judged documents a query:
/// (run query, doc, score, qrels query, doc, relevance).
pub fn trec_tables(queries: usize, rng: &mut Lcg) -> [ArrayRef; 6] {
    let (mut q, mut d, mut s) = (Vec::new(), Vec::new(), Vec::new());
    let (mut qq, mut qd, mut qr) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..queries {
        for j in 0..100 {
            q.push(format!("q{i}"));
            d.push(format!("D{}", (i * 7919 + j * 104_729) % 10_000_000));
            s.push((rng.next() % 1000) as f64 / 1000.0);
        }
        for j in 0..10 {
            qq.push(format!("q{i}"));
            qd.push(format!(
                "D{}",
                (i * 7919 + j * 13 % 103 * 104_729) % 10_000_000
            ));
            qr.push((j % 4) as i64);
        }
    }
    let strings = |v: Vec<String>| -> ArrayRef { Arc::new(StringArray::from(v)) };
    [
        strings(q),
        strings(d),
        Arc::new(Float64Array::from(s)),
        strings(qq),
        strings(qd),
        Arc::new(Int64Array::from(qr)),
    ]
}

/// The run and qrels columns of [`trec_tables`]' arrays, named q, d, s and q, d, r.
pub fn trec_columns(t: &[ArrayRef; 6]) -> (trec::RunColumns<'_>, trec::QrelsColumns<'_>) {
    let column = |name, array| trec::Column { name, array };
    let run = trec::RunColumns {
        query: column("q", &t[0]),
        doc: column("d", &t[1]),
        score: column("s", &t[2]),
    };
    let qrels = trec::QrelsColumns {
        query: column("q", &t[3]),
        doc: column("d", &t[4]),
        relevance: column("r", &t[5]),
    };
    (run, qrels)
}
