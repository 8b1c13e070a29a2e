//! Battles read straight from their Arrow string columns: each battle's two models as
//! codes into the sorted model names, its outcome, and the battles counted per
//! (pair, outcome) cell. One parallel pass over the strings replaces hashing each
//! column in turn; a leaderboard without per-battle covariates then fits the cells
//! (a few per pair) instead of every battle.

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;

use crate::columns::IdAccessor;
use crate::error::{Error, Result};

/// The second model won.
pub const B_WINS: u8 = 0;
/// A tie (any of the tie spellings).
pub const TIE: u8 = 1;
/// The first model won.
pub const A_WINS: u8 = 2;

/// The fewest rows a part of the pass reads (two parts per thread, at least this
/// many rows each). Names are sorted and counts are integers, so the result does not
/// depend on how the rows are split.
const MIN_PART: usize = 1 << 15;

/// Cells are counted in a dense table up to this many (pair, outcome) slots, past it
/// by sorting the battles' keys.
const DENSE_CELLS: usize = 1 << 22;

/// What stops a battle table from being read, in the order a caller reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    NullWinner,
    UnknownWinner,
    SelfBattle,
    NullA,
    NullB,
}

impl Problem {
    const ALL: [Problem; 5] = [
        Problem::NullWinner,
        Problem::UnknownWinner,
        Problem::SelfBattle,
        Problem::NullA,
        Problem::NullB,
    ];

    /// The name a binding passes on.
    pub fn name(self) -> &'static str {
        match self {
            Problem::NullWinner => "null winner",
            Problem::UnknownWinner => "unknown winner",
            Problem::SelfBattle => "self battle",
            Problem::NullA => "null a",
            Problem::NullB => "null b",
        }
    }
}

/// Battles counted per unordered pair and outcome: `a < b`, `outcome` read from
/// `a`'s side, cells sorted by (a, b, outcome).
#[derive(Debug, Default, PartialEq)]
pub struct Cells {
    pub a: Vec<u32>,
    pub b: Vec<u32>,
    pub outcome: Vec<u8>,
    pub count: Vec<u64>,
}

/// A battle table read: the model names (sorted by their bytes), per battle (when
/// asked) its two models' codes and outcome, and the cells.
#[derive(Debug, Default)]
pub struct CodedBattles {
    pub names: Vec<String>,
    pub a: Vec<u32>,
    pub b: Vec<u32>,
    pub outcome: Vec<u8>,
    pub cells: Cells,
}

/// How a winner value reads, given the battle's two models: `None` when it names
/// neither an outcome nor either model.
fn read_outcome(w: &[u8], a: Option<&[u8]>, b: Option<&[u8]>) -> Option<u8> {
    match w {
        b"model_a" | b"a" | b"A" => Some(A_WINS),
        b"model_b" | b"b" | b"B" => Some(B_WINS),
        b"tie" | b"tie (bothbad)" | b"draw" => Some(TIE),
        _ if a.is_some_and(|a| a == w) => Some(A_WINS),
        _ if b.is_some_and(|b| b == w) => Some(B_WINS),
        _ => None,
    }
}

/// The first 8 bytes of `x`, zero-padded.
const fn padded(x: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    let mut i = 0;
    while i < x.len() && i < 8 {
        word[i] = x[i];
        i += 1;
    }
    u64::from_le_bytes(word)
}

/// The outcome of the three usual winner spellings from the value's head (see
/// [`Texts::head`]), `u8::MAX` for any other: words compared without a branch, as
/// which spelling a battle holds is as random as its outcome.
#[inline(always)]
fn usual_outcome((word, len): (u64, usize)) -> u8 {
    const MODEL_A: u64 = padded(b"model_a");
    const MODEL_B: u64 = padded(b"model_b");
    const TIE_WORD: u64 = padded(b"tie");
    let a = (len == 7) & (word == MODEL_A);
    let b = (len == 7) & (word == MODEL_B);
    let tie = (len == 3) & (word == TIE_WORD);
    if a | b | tie {
        2 * u8::from(a) + u8::from(tie)
    } else {
        u8::MAX
    }
}

/// Row access to the values of one string layout, resolved once per column; the
/// values live as long as the column (`'a`).
trait Texts<'a>: Sync {
    fn text(&self, row: usize) -> &'a [u8];

    /// The value's first 8 bytes (zero-padded) and its length.
    #[inline(always)]
    fn head(&self, row: usize) -> (u64, usize) {
        let text = self.text(row);
        (padded(text), text.len())
    }
}

struct Offsets<'a, O> {
    offsets: &'a [O],
    values: &'a [u8],
}

impl<'a, O: arrow_array::OffsetSizeTrait> Texts<'a> for Offsets<'a, O> {
    #[inline(always)]
    fn text(&self, row: usize) -> &'a [u8] {
        let (lo, hi) = (
            self.offsets[row].as_usize(),
            self.offsets[row + 1].as_usize(),
        );
        &self.values[lo..hi]
    }

    /// One unaligned load, masked to the value's length, where the buffer has 8
    /// bytes from the value's start.
    #[inline(always)]
    fn head(&self, row: usize) -> (u64, usize) {
        let (lo, hi) = (
            self.offsets[row].as_usize(),
            self.offsets[row + 1].as_usize(),
        );
        let len = hi - lo;
        match self.values.get(lo..lo + 8) {
            Some(bytes) => {
                let word = u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]));
                let mask = if len >= 8 {
                    !0
                } else {
                    (1u64 << (8 * len)) - 1
                };
                (word & mask, len)
            }
            None => (padded(&self.values[lo..hi]), len),
        }
    }
}

fn offsets<O: arrow_array::OffsetSizeTrait>(
    a: &arrow_array::GenericStringArray<O>,
) -> Offsets<'_, O> {
    Offsets {
        offsets: a.value_offsets(),
        values: a.value_data(),
    }
}

/// A word holding every byte of a name shorter than 8 bytes (overlapping reads, no
/// copy loop): different names of one length get different words.
#[inline(always)]
const fn short_word(x: &[u8]) -> u64 {
    let n = x.len();
    macro_rules! byte {
        ($i:expr) => {
            x[$i] as u64
        };
    }
    match n {
        0 => 0,
        1..=3 => byte!(0) | byte!(n / 2) << 8 | byte!(n - 1) << 16,
        _ => {
            let lo = byte!(0) | byte!(1) << 8 | byte!(2) << 16 | byte!(3) << 24;
            let hi = byte!(n - 4) | byte!(n - 3) << 8 | byte!(n - 2) << 16 | byte!(n - 1) << 24;
            lo | hi << 32
        }
    }
}

/// A name's key in the dictionary: its length and its first and last 8 bytes
/// (overlapping, zero-padded below 8 bytes), which are the whole name up to 16 bytes
/// (most model names), compared without reaching back to the name itself.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Key {
    first: u64,
    last: u64,
    /// Saturated: a name this long is compared whole anyway.
    len: u32,
}

impl Key {
    #[inline(always)]
    fn of(x: &[u8]) -> Key {
        let len = x.len();
        let word = |i: usize| u64::from_le_bytes(x[i..i + 8].try_into().unwrap_or([0; 8]));
        let (first, last) = if len >= 8 {
            (word(0), word(len - 8))
        } else {
            (short_word(x), 0)
        };
        Key {
            first,
            last,
            len: u32::try_from(len).unwrap_or(u32::MAX),
        }
    }

    /// The slot of `bits` bits, from the high bits of a multiply that mixes every
    /// bit of the key.
    #[inline(always)]
    fn slot(&self, shift: u32) -> usize {
        let h = self.first.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ self
                .last
                .wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
                .rotate_left(31)
            ^ u64::from(self.len);
        (h.wrapping_mul(0x1656_67B1_9E37_79F9) >> shift) as usize
    }
}

/// The model names of a part of the battles, coded first seen first: open
/// addressing over the names' keys; names past 16 bytes are also compared whole.
struct Dictionary<'a> {
    names: Vec<&'a [u8]>,
    /// Each slot's key and `code + 1` (0: empty).
    slots: Vec<(Key, u32)>,
    /// 64 − log2(slots).
    shift: u32,
}

const EMPTY: (Key, u32) = (
    Key {
        first: 0,
        last: 0,
        len: 0,
    },
    0,
);

impl<'a> Dictionary<'a> {
    fn new() -> Self {
        Dictionary {
            names: Vec::new(),
            slots: vec![EMPTY; 64],
            shift: 64 - 6,
        }
    }

    #[inline(always)]
    fn code(&mut self, name: &'a [u8]) -> u32 {
        let key = Key::of(name);
        let mask = self.slots.len() - 1;
        let mut i = key.slot(self.shift);
        loop {
            let (k, code) = self.slots[i];
            if code == 0 {
                return self.insert(name, key, i);
            }
            if k == key && (key.len <= 16 || self.names[code as usize - 1] == name) {
                return code - 1;
            }
            i = (i + 1) & mask;
        }
    }

    #[cold]
    fn insert(&mut self, name: &'a [u8], key: Key, at: usize) -> u32 {
        self.names.push(name);
        let code = self.names.len() as u32;
        self.slots[at] = (key, code);
        // A few hundred names (most leaderboards) at most an eighth full: a name is
        // then almost always in its first slot, and the table still fits the
        // first-level cache. Larger tables grow at half full.
        let spare = if self.slots.len() < 1 << 12 { 8 } else { 2 };
        if self.names.len() * spare > self.slots.len() {
            let mut grown = vec![EMPTY; self.slots.len() * 2];
            let (mask, shift) = (grown.len() - 1, self.shift - 1);
            for slot in self.slots.iter().filter(|s| s.1 != 0) {
                let mut i = slot.0.slot(shift);
                while grown[i].1 != 0 {
                    i = (i + 1) & mask;
                }
                grown[i] = *slot;
            }
            (self.slots, self.shift) = (grown, shift);
        }
        code - 1
    }
}

/// One part's reading: its dictionary, each problem's first row and the part's
/// battles counted per (local a, local b, outcome) cell.
struct Part<'a> {
    names: Vec<&'a [u8]>,
    problems: [Option<usize>; 5],
    cells: Vec<(u32, u32, u8, u64)>,
}

/// Rows read between two counts of their cells: few enough that their codes are
/// still in cache when counted.
const BLOCK: usize = 4096;

/// Battles counted per cell of a part's local codes as blocks of them are read: the
/// unordered pair (`lo < hi`) and the outcome from `lo`'s side, in a dense
/// triangular table (`hi (hi - 1) / 2 + lo`, so it only grows as codes do), or, once
/// that table would pass [`DENSE_CELLS`], as keys sorted at the end.
struct Counter {
    table: Vec<u32>,
    keys: Vec<u64>,
    dense: bool,
}

impl Counter {
    fn new() -> Self {
        Counter {
            table: Vec::new(),
            keys: Vec::new(),
            dense: true,
        }
    }

    /// Room for codes below `n`: a longer table, or the keys.
    fn reserve(&mut self, n: usize) {
        let slots = 3 * (n * n.saturating_sub(1) / 2);
        if !self.dense || slots <= self.table.len() {
            return;
        }
        if slots <= DENSE_CELLS {
            self.table.resize(slots, 0);
            return;
        }
        for (lo, hi, o, c) in Self::cells_of(&std::mem::take(&mut self.table)) {
            let key = Self::key(lo, hi, o);
            self.keys.extend(std::iter::repeat_n(key, c as usize));
        }
        self.dense = false;
    }

    /// A battle's pair, lower code first, and its outcome from that side.
    #[inline(always)]
    fn cell(a: u32, b: u32, o: u8) -> (u32, u32, u8) {
        if a < b {
            (a, b, o)
        } else {
            (b, a, A_WINS - o)
        }
    }

    #[inline(always)]
    fn slot(lo: u32, hi: u32, o: u8) -> usize {
        let hi = hi as usize;
        (hi * (hi - 1) / 2 + lo as usize) * 3 + o as usize
    }

    #[inline(always)]
    fn key(lo: u32, hi: u32, o: u8) -> u64 {
        (u64::from(hi) << 34) | (u64::from(lo) << 2) | u64::from(o)
    }

    fn add(&mut self, a: &[u32], b: &[u32], o: &[u8]) {
        if self.dense {
            for k in 0..a.len() {
                let (lo, hi, o) = Self::cell(a[k], b[k], o[k]);
                self.table[Self::slot(lo, hi, o)] += 1;
            }
        } else {
            self.keys.extend((0..a.len()).map(|k| {
                let (lo, hi, o) = Self::cell(a[k], b[k], o[k]);
                Self::key(lo, hi, o)
            }));
        }
    }

    fn cells_of(table: &[u32]) -> Vec<(u32, u32, u8, u64)> {
        let mut out = Vec::new();
        let mut hi = 1usize;
        for (pair, counts) in table.chunks_exact(3).enumerate() {
            // The pair's `hi`: the first row of the triangle past it.
            while hi * (hi + 1) / 2 <= pair {
                hi += 1;
            }
            let lo = pair - hi * (hi - 1) / 2;
            for (o, &c) in counts.iter().enumerate() {
                if c > 0 {
                    out.push((lo as u32, hi as u32, o as u8, u64::from(c)));
                }
            }
        }
        out
    }

    fn finish(mut self) -> Vec<(u32, u32, u8, u64)> {
        if self.dense {
            return Self::cells_of(&self.table);
        }
        self.keys.sort_unstable();
        let mut out: Vec<(u32, u32, u8, u64)> = Vec::new();
        for &key in &self.keys {
            let (hi, lo, o) = (
                (key >> 34) as u32,
                ((key >> 2) & 0xFFFF_FFFF) as u32,
                (key & 3) as u8,
            );
            match out.last_mut() {
                Some(last) if (last.0, last.1, last.2) == (lo, hi, o) => last.3 += 1,
                _ => out.push((lo, hi, o, 1)),
            }
        }
        out
    }
}

/// Where a part writes each battle's codes: the caller's columns, or a block's
/// scratch when only the cells are wanted.
type Codes<'o> = Option<(&'o mut [u32], &'o mut [u32], &'o mut [u8])>;

struct Columns<'a, T, W> {
    a: T,
    b: T,
    winner: W,
    valid: [Option<&'a arrow_buffer::NullBuffer>; 3],
}

impl<'a, T: Texts<'a>, W: Texts<'a>> Columns<'a, T, W> {
    #[inline(always)]
    fn value(&self, texts: &impl Texts<'a>, side: usize, row: usize) -> Option<&'a [u8]> {
        match self.valid[side] {
            Some(v) if v.is_null(row) => None,
            _ => Some(texts.text(row)),
        }
    }

    /// Read rows `start..end` a block at a time: local codes (`u32::MAX` for a null
    /// model) and outcomes into `out` (or scratch), counted into cells; problems are
    /// noted at `base + row`.
    fn read_part(&self, base: usize, start: usize, end: usize, mut out: Codes<'_>) -> Part<'a> {
        let mut dictionary = Dictionary::new();
        let mut problems = [None; 5];
        let mut counter = Counter::new();
        let mut scratch = (vec![0u32; BLOCK], vec![0u32; BLOCK], vec![0u8; BLOCK]);
        for first in (start..end).step_by(BLOCK) {
            let len = BLOCK.min(end - first);
            let (a, b, outcome) = match &mut out {
                Some((a, b, o)) => {
                    let at = first - start..first - start + len;
                    (&mut a[at.clone()], &mut b[at.clone()], &mut o[at])
                }
                None => (
                    &mut scratch.0[..len],
                    &mut scratch.1[..len],
                    &mut scratch.2[..len],
                ),
            };
            self.read_block(base, first, &mut dictionary, &mut problems, a, b, outcome);
            // A null model has no code to count; the call fails on it anyway.
            if problems.iter().all(Option::is_none) {
                counter.reserve(dictionary.names.len());
                counter.add(a, b, outcome);
            }
        }
        Part {
            names: dictionary.names,
            problems,
            cells: counter.finish(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn read_block(
        &self,
        base: usize,
        start: usize,
        dictionary: &mut Dictionary<'a>,
        problems: &mut [Option<usize>; 5],
        a: &mut [u32],
        b: &mut [u32],
        outcome: &mut [u8],
    ) {
        let mut note = |p: Problem, row: usize| {
            problems[p as usize].get_or_insert(base + row);
        };
        for k in 0..a.len() {
            let row = start + k;
            let (x, y) = (self.value(&self.a, 0, row), self.value(&self.b, 1, row));
            let cx = x.map_or(u32::MAX, |x| dictionary.code(x));
            let cy = y.map_or(u32::MAX, |y| dictionary.code(y));
            let usual = match self.valid[2] {
                Some(v) if v.is_null(row) => None,
                _ => Some(usual_outcome(self.winner.head(row))),
            };
            outcome[k] = match usual {
                Some(o) if o != u8::MAX => o,
                None => {
                    note(Problem::NullWinner, row);
                    TIE
                }
                Some(_) => read_outcome(self.winner.text(row), x, y).unwrap_or_else(|| {
                    note(Problem::UnknownWinner, row);
                    TIE
                }),
            };
            if x.is_none() {
                note(Problem::NullA, row);
            } else if cx == cy {
                note(Problem::SelfBattle, row);
            }
            if y.is_none() {
                note(Problem::NullB, row);
            }
            (a[k], b[k]) = (cx, cy);
        }
    }
}

/// Read the battles of the string columns `a`, `b` and `winner`, each given as its
/// chunks (`columns` names them in errors). A winner is `model_a`/`a`/`A`,
/// `model_b`/`b`/`B`, `tie`/`tie (bothbad)`/`draw` or either model's name.
/// `Ok(Err((problem, row)))` is the first row of the most important problem found (a
/// null or unknown winner, a model battling itself, a null model), for the caller to
/// word. `rows`: also return each battle's codes and outcome. The chunks are read
/// where they lie (no copy); text is checked to be UTF-8 where it is kept (the
/// names) or reported (an unknown winner).
pub fn code_battles(
    a: &[ArrayRef],
    b: &[ArrayRef],
    winner: &[ArrayRef],
    columns: [&str; 3],
    rows: bool,
) -> Result<std::result::Result<CodedBattles, (Problem, usize)>> {
    let length = |chunks: &[ArrayRef]| chunks.iter().map(|c| c.len()).sum::<usize>();
    let m = length(a);
    if length(b) != m || length(winner) != m {
        return Err(Error::argument(
            "the model and winner columns must have the same length",
        ));
    }
    for (column, chunks) in columns.iter().zip([a, b, winner]) {
        for chunk in chunks {
            if !matches!(
                chunk.data_type(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            ) {
                return Err(Error::WrongType {
                    column: column.to_string(),
                    found: chunk.data_type().to_string(),
                    expected: "strings".to_string(),
                });
            }
        }
    }
    // Both model columns in one layout, so that the row loop is compiled for it.
    let layout = a.first().map(|c| c.data_type().clone());
    let b: Vec<ArrayRef> = b
        .iter()
        .map(|c| match &layout {
            Some(t) if c.data_type() != t => arrow_cast::cast(c, t),
            _ => Ok(c.clone()),
        })
        .collect::<std::result::Result<_, _>>()?;
    let segments = segments([a, &b, winner]);
    let coded = code_segments(&segments, m, rows)?;
    match coded {
        Err((Problem::UnknownWinner, row)) if first_invalid_row(winner) == Some(row) => {
            Err(crate::utf8::invalid(columns[2], row))
        }
        Ok(coded) if coded.names.iter().any(|n| n.is_none()) => {
            // A name that is not UTF-8: the first row holding one, column by column.
            for (column, chunks) in [(columns[0], a), (columns[1], &b[..])] {
                if let Some(row) = first_invalid_row(chunks) {
                    return Err(crate::utf8::invalid(column, row));
                }
            }
            Err(Error::argument("a model name is not valid UTF-8"))
        }
        Ok(coded) => Ok(Ok(CodedBattles {
            names: coded.names.into_iter().flatten().collect(),
            a: coded.a,
            b: coded.b,
            outcome: coded.outcome,
            cells: coded.cells,
        })),
        Err(problem) => Ok(Err(problem)),
    }
}

/// The first row of chunked text that is not valid UTF-8.
fn first_invalid_row(chunks: &[ArrayRef]) -> Option<usize> {
    let mut start = 0;
    for chunk in chunks {
        if let Some(row) = crate::utf8::first_invalid(chunk.as_ref()) {
            return Some(start + row);
        }
        start += chunk.len();
    }
    None
}

/// Rows of the three columns that lie in one chunk of each: zero-copy slices.
struct Segment {
    start: usize,
    arrays: [ArrayRef; 3],
}

/// The columns cut at every chunk boundary of any of them.
fn segments(columns: [&[ArrayRef]; 3]) -> Vec<Segment> {
    let mut cuts = vec![0usize];
    for chunks in columns {
        let mut at = 0;
        for chunk in chunks {
            at += chunk.len();
            cuts.push(at);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let slice = |chunks: &[ArrayRef], lo: usize, hi: usize| {
        let mut start = 0;
        for chunk in chunks {
            if lo < start + chunk.len() {
                return chunk.slice(lo - start, hi - lo);
            }
            start += chunk.len();
        }
        unreachable!("a cut past the column's end")
    };
    cuts.windows(2)
        .filter(|w| w[1] > w[0])
        .map(|w| Segment {
            start: w[0],
            arrays: columns.map(|chunks| slice(chunks, w[0], w[1])),
        })
        .collect()
}

/// The accessor of a string column (its layout checked by the caller).
fn accessor(array: &ArrayRef) -> IdAccessor<'_> {
    match array.data_type() {
        DataType::Utf8 => IdAccessor::Utf8(array.as_string::<i32>()),
        DataType::LargeUtf8 => IdAccessor::Large(array.as_string::<i64>()),
        _ => IdAccessor::View(array.as_string_view()),
    }
}

impl<'a> Texts<'a> for IdAccessor<'a> {
    #[inline(always)]
    fn text(&self, row: usize) -> &'a [u8] {
        self.get(row)
    }
}

/// Read rows `lo..hi` of a segment, with the row loop compiled for its layout.
fn read_unit<'a>(segment: &'a Segment, lo: usize, hi: usize, out: Codes<'_>) -> Part<'a> {
    let [a, b, winner] = &segment.arrays;
    let valid = [a.nulls(), b.nulls(), winner.nulls()];
    if let (DataType::Utf8, DataType::Utf8) = (a.data_type(), winner.data_type()) {
        let cols = Columns {
            a: offsets(a.as_string::<i32>()),
            b: offsets(b.as_string::<i32>()),
            winner: offsets(winner.as_string::<i32>()),
            valid,
        };
        return cols.read_part(segment.start, lo, hi, out);
    }
    let cols = Columns {
        a: accessor(a),
        b: accessor(b),
        winner: accessor(winner),
        valid,
    };
    cols.read_part(segment.start, lo, hi, out)
}

/// [`CodedBattles`] with each name as read: None where it is not UTF-8.
struct Read {
    names: Vec<Option<String>>,
    a: Vec<u32>,
    b: Vec<u32>,
    outcome: Vec<u8>,
    cells: Cells,
}

/// `a`, `b` and `outcome` cut into consecutive pieces of `lens` rows.
fn pieces<'o>(
    mut a: &'o mut [u32],
    mut b: &'o mut [u32],
    mut o: &'o mut [u8],
    lens: &[usize],
) -> Vec<(&'o mut [u32], &'o mut [u32], &'o mut [u8])> {
    let mut out = Vec::with_capacity(lens.len());
    for &len in lens {
        let (ha, ta) = std::mem::take(&mut a).split_at_mut(len);
        let (hb, tb) = std::mem::take(&mut b).split_at_mut(len);
        let (ho, to) = std::mem::take(&mut o).split_at_mut(len);
        out.push((ha, hb, ho));
        (a, b, o) = (ta, tb, to);
    }
    out
}

fn code_segments(
    segments: &[Segment],
    m: usize,
    rows: bool,
) -> Result<std::result::Result<Read, (Problem, usize)>> {
    use rayon::prelude::*;
    crate::interrupt::check()?;
    // Units of at most `part` rows within one segment, in row order.
    let part = m.div_ceil(2 * crate::parallel::num_threads()).max(MIN_PART);
    let units: Vec<(&Segment, usize, usize)> = segments
        .iter()
        .flat_map(|s| {
            let len = s.arrays[0].len();
            (0..len)
                .step_by(part)
                .map(move |lo| (s, lo, (lo + part).min(len)))
        })
        .collect();
    let lens: Vec<usize> = units.iter().map(|(_, lo, hi)| hi - lo).collect();
    let (mut a, mut b, mut outcome) = if rows {
        (vec![0u32; m], vec![0u32; m], vec![0u8; m])
    } else {
        Default::default()
    };
    let parts: Vec<Part> = crate::parallel::install(|| {
        if rows {
            let outs = pieces(&mut a, &mut b, &mut outcome, &lens);
            units
                .par_iter()
                .zip(outs)
                .map(|(&(s, lo, hi), out)| read_unit(s, lo, hi, Some(out)))
                .collect()
        } else {
            units
                .par_iter()
                .map(|&(s, lo, hi)| read_unit(s, lo, hi, None))
                .collect()
        }
    });
    crate::interrupt::check()?;
    for p in Problem::ALL {
        let first = parts
            .iter()
            .filter_map(|part| part.problems[p as usize])
            .min();
        if let Some(row) = first {
            return Ok(Err((p, row)));
        }
    }
    // The global dictionary: every part's names, sorted by their bytes.
    let mut names: Vec<&[u8]> = parts.iter().flat_map(|p| p.names.iter().copied()).collect();
    names.sort_unstable();
    names.dedup();
    let mut global = Dictionary::new();
    for name in &names {
        global.code(name);
    }
    let remaps: Vec<Vec<u32>> = parts
        .iter()
        .map(|p| p.names.iter().map(|n| global.code(n)).collect())
        .collect();
    let cells = merge_cells(&parts, &remaps, names.len());
    if rows {
        crate::parallel::install(|| {
            pieces(&mut a, &mut b, &mut outcome, &lens)
                .into_par_iter()
                .zip(&remaps)
                .for_each(|((a, b, _), remap)| {
                    a.iter_mut()
                        .chain(b.iter_mut())
                        .for_each(|c| *c = remap[*c as usize]);
                })
        });
    }
    Ok(Ok(Read {
        names: names
            .iter()
            .map(|n| std::str::from_utf8(n).ok().map(str::to_string))
            .collect(),
        a,
        b,
        outcome,
        cells,
    }))
}

/// A battle's cell key: the unordered pair (lower code first) and the outcome from
/// the lower code's side.
#[inline]
fn cell_key(a: u32, b: u32, outcome: u8, n: usize) -> usize {
    let (lo, hi, o) = if a < b {
        (a, b, outcome)
    } else {
        (b, a, A_WINS - outcome)
    };
    (lo as usize * n + hi as usize) * 3 + o as usize
}

/// The parts' local cells in global codes, summed.
fn merge_cells(parts: &[Part], remaps: &[Vec<u32>], n: usize) -> Cells {
    let global_keys = parts.iter().zip(remaps).flat_map(|(part, remap)| {
        part.cells.iter().map(move |&(la, lb, o, count)| {
            (
                cell_key(remap[la as usize], remap[lb as usize], o, n),
                count,
            )
        })
    });
    let slots = n * n * 3;
    let local: usize = parts.iter().map(|p| p.cells.len()).sum();
    let summed: Vec<(usize, u64)> = if slots <= DENSE_CELLS && slots <= 8 * local {
        let mut table = vec![0u64; slots];
        for (key, count) in global_keys {
            table[key] += count;
        }
        table
            .into_iter()
            .enumerate()
            .filter(|&(_, c)| c > 0)
            .collect()
    } else {
        let mut keyed: Vec<(usize, u64)> = global_keys.collect();
        keyed.sort_unstable_by_key(|&(key, _)| key);
        let mut out: Vec<(usize, u64)> = Vec::with_capacity(keyed.len());
        for (key, count) in keyed {
            match out.last_mut() {
                Some((last, c)) if *last == key => *c += count,
                _ => out.push((key, count)),
            }
        }
        out
    };
    let mut cells = Cells::default();
    for (key, count) in summed {
        let pair = key / 3;
        cells.a.push((pair / n) as u32);
        cells.b.push((pair % n) as u32);
        cells.outcome.push((key % 3) as u8);
        cells.count.push(count);
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{LargeStringArray, StringArray, StringViewArray};
    use std::collections::HashMap;
    use std::sync::Arc;

    fn read(
        a: &[Option<&str>],
        b: &[Option<&str>],
        w: &[Option<&str>],
    ) -> std::result::Result<CodedBattles, (Problem, usize)> {
        let arr = |v: &[Option<&str>]| -> ArrayRef { Arc::new(StringArray::from(v.to_vec())) };
        code_battles(&[arr(a)], &[arr(b)], &[arr(w)], ["a", "b", "winner"], true).unwrap()
    }

    #[test]
    fn codes_sorted_names_outcomes_and_cells() {
        let coded = read(
            &[Some("y"), Some("x"), Some("x"), Some("z"), Some("y")],
            &[Some("x"), Some("z"), Some("y"), Some("x"), Some("x")],
            &[
                Some("model_a"),
                Some("tie (bothbad)"),
                Some("y"),
                Some("x"),
                Some("B"),
            ],
        )
        .unwrap();
        assert_eq!(coded.names, ["x", "y", "z"]);
        assert_eq!(coded.a, [1, 0, 0, 2, 1]);
        assert_eq!(coded.b, [0, 2, 1, 0, 0]);
        assert_eq!(coded.outcome, [A_WINS, TIE, B_WINS, B_WINS, B_WINS]);
        // x-y: y won twice (rows 0 and 2), x won once (row 4); x-z: a tie, x won.
        assert_eq!(
            coded.cells,
            Cells {
                a: vec![0, 0, 0, 0],
                b: vec![1, 1, 2, 2],
                outcome: vec![B_WINS, A_WINS, TIE, A_WINS],
                count: vec![2, 1, 1, 1],
            }
        );
    }

    #[test]
    fn problems_come_in_order_at_their_first_row() {
        let w = [Some("model_a"), Some("nobody"), None];
        let r = read(
            &[Some("x"), Some("x"), Some("x")],
            &[Some("y"), Some("y"), Some("y")],
            &w,
        );
        assert_eq!(r.unwrap_err(), (Problem::NullWinner, 2));
        let r = read(
            &[Some("x"), None, Some("x")],
            &[Some("x"), Some("y"), Some("y")],
            &[Some("a"); 3],
        );
        assert_eq!(r.unwrap_err(), (Problem::SelfBattle, 0));
        let r = read(&[Some("x"), None], &[Some("y"), Some("y")], &[Some("a"); 2]);
        assert_eq!(r.unwrap_err(), (Problem::NullA, 1));
        let r = read(
            &[Some("x"), Some("x")],
            &[Some("y"), Some("x")],
            &[Some("bob"), Some("tie")],
        );
        assert_eq!(r.unwrap_err(), (Problem::UnknownWinner, 0));
    }

    /// Battles among `models` names in every string layout: the same codes, which
    /// point at each battle's own names, and cells that count the battles.
    fn layouts_agree(models: usize) -> CodedBattles {
        let m = 3 * MIN_PART + 17;
        let name = |i: usize| format!("model-{:04}", (i * 7919) % models);
        let a: Vec<String> = (0..m).map(name).collect();
        let b: Vec<String> = (0..m).map(|i| name(i + 1)).collect();
        let w: Vec<String> = (0..m)
            .map(|i| match i % 4 {
                0 => "model_a".to_string(),
                1 => "model_b".to_string(),
                2 => "tie".to_string(),
                _ => name(i + 1),
            })
            .collect();
        let plain = |v: &[String]| -> ArrayRef { Arc::new(StringArray::from_iter_values(v)) };
        let large = |v: &[String]| -> ArrayRef { Arc::new(LargeStringArray::from_iter_values(v)) };
        let view = |v: &[String]| -> ArrayRef { Arc::new(StringViewArray::from_iter_values(v)) };
        let cols = ["a", "b", "winner"];
        let one = code_battles(&[plain(&a)], &[plain(&b)], &[plain(&w)], cols, true)
            .unwrap()
            .unwrap();
        for other in [
            code_battles(&[large(&a)], &[large(&b)], &[view(&w)], cols, true),
            code_battles(&[view(&a)], &[plain(&b)], &[large(&w)], cols, true),
        ] {
            let other = other.unwrap().unwrap();
            assert_eq!(
                (&other.names, &other.a, &other.b, &other.outcome),
                (&one.names, &one.a, &one.b, &one.outcome)
            );
            assert_eq!(other.cells, one.cells);
        }
        // The same columns in chunks that break at different rows.
        let cut = |v: &[String], at: &[usize]| -> Vec<ArrayRef> {
            let mut bounds = vec![0];
            bounds.extend_from_slice(at);
            bounds.push(v.len());
            bounds.windows(2).map(|w| plain(&v[w[0]..w[1]])).collect()
        };
        let chunked = code_battles(
            &cut(&a, &[5, 40_000, 40_001]),
            &cut(&b, &[70_000]),
            &cut(&w, &[]),
            cols,
            true,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (
                &chunked.names,
                &chunked.a,
                &chunked.b,
                &chunked.outcome,
                &chunked.cells
            ),
            (&one.names, &one.a, &one.b, &one.outcome, &one.cells)
        );
        let cells_only = code_battles(&[plain(&a)], &[plain(&b)], &[plain(&w)], cols, false)
            .unwrap()
            .unwrap();
        assert_eq!(
            (&cells_only.names, &cells_only.cells),
            (&one.names, &one.cells)
        );
        assert!(cells_only.a.is_empty() && cells_only.outcome.is_empty());
        let mut expect: HashMap<(u32, u32, u8), u64> = HashMap::new();
        for k in 0..m {
            assert_eq!(
                (&one.names[one.a[k] as usize], &one.names[one.b[k] as usize]),
                (&a[k], &b[k])
            );
            let o = [A_WINS, B_WINS, TIE, B_WINS][k % 4];
            assert_eq!(one.outcome[k], o);
            let (x, y) = (one.a[k], one.b[k]);
            let key = if x < y { (x, y, o) } else { (y, x, A_WINS - o) };
            *expect.entry(key).or_default() += 1;
        }
        assert_eq!(one.cells.count.iter().sum::<u64>(), m as u64);
        assert_eq!(one.cells.a.len(), expect.len());
        for c in 0..one.cells.a.len() {
            let key = (one.cells.a[c], one.cells.b[c], one.cells.outcome[c]);
            assert!(key.0 < key.1);
            assert_eq!(expect[&key], one.cells.count[c]);
        }
        assert!(one.cells.a.windows(2).all(|w| w[0] <= w[1]));
        one
    }

    #[test]
    fn text_that_is_not_utf8_is_named_where_it_is_read() {
        use arrow_array::BinaryArray;
        // Bytes that are not UTF-8, as a C-interface import may bring them: the
        // binary array's buffers seen as a string array, unchecked.
        let text = |values: &[&[u8]]| -> ArrayRef {
            let bytes = BinaryArray::from_iter_values(values.iter().copied());
            let (offsets, values, nulls) = bytes.into_parts();
            Arc::new(unsafe { StringArray::new_unchecked(offsets, values, nulls) })
        };
        let cols = ["a", "b", "winner"];
        let good = text(&[b"x", b"y", b"x"]);
        let bad = text(&[b"y", b"z\xe9", b"y"]);
        let w = text(&[b"model_a", b"tie", b"model_b"]);
        let err = code_battles(
            std::slice::from_ref(&good),
            &[bad],
            std::slice::from_ref(&w),
            cols,
            false,
        )
        .unwrap_err();
        assert!(err
            .to_string()
            .starts_with("column 'b', row 1: text is not valid UTF-8"));
        let bad_winner = text(&[b"model_a", b"\xff", b"model_b"]);
        let b = text(&[b"y", b"z", b"y"]);
        let err = code_battles(&[good], &[b], &[bad_winner], cols, false).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("column 'winner', row 1: text is not valid UTF-8"));
    }

    #[test]
    fn string_layouts_agree_with_a_dense_count() {
        let one = layouts_agree(40);
        assert!(one.names.len() * one.names.len() * 3 <= DENSE_CELLS);
    }

    #[test]
    fn string_layouts_agree_with_a_sorted_count() {
        // More cells than the dense table holds: they are counted by sorting.
        let one = layouts_agree(1500);
        assert!(one.names.len() * one.names.len() * 3 > DENSE_CELLS);
    }
}
