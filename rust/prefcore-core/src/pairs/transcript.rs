//! HH-style transcripts (`\n\nHuman: …\n\nAssistant: …`) and conversational messages
//! (`list<struct<role, content>>`): parsing, rendering, and splitting a shared prompt
//! off chosen/rejected transcripts.

use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder, StructBuilder};
use arrow_array::cast::AsArray;
use arrow_array::{
    Array, ArrayRef, GenericListArray, OffsetSizeTrait, StringArray, StructArray, UInt64Array,
};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Field, Fields};

use crate::columns::{first_null, IdAccessor, Ids};
use crate::error::{Error, Result};

/// The role names of an HH transcript and the conversational roles they map to.
#[derive(Clone, Debug)]
pub struct Roles {
    /// Marker name of the user turn in text, e.g. `Human`.
    pub user: String,
    /// Marker name of the assistant turn in text, e.g. `Assistant`.
    pub assistant: String,
}

impl Default for Roles {
    fn default() -> Self {
        Roles {
            user: "Human".into(),
            assistant: "Assistant".into(),
        }
    }
}

impl Roles {
    /// Roles that a transcript can tell apart: two different, non-empty names without
    /// a newline or a colon (which would blur the `\n\nName:` markers).
    pub fn new(user: &str, assistant: &str) -> Result<Self> {
        for (what, name) in [("user", user), ("assistant", assistant)] {
            if name.trim().is_empty() || name.contains(['\n', '\r', ':']) {
                return Err(Error::argument(format!(
                    "roles: the {what} role {name:?} must be a non-empty name without a \
                     newline or ':'"
                )));
            }
        }
        if user == assistant {
            return Err(Error::argument(format!(
                "roles: the user and assistant roles must differ, both are {user:?}"
            )));
        }
        Ok(Roles {
            user: user.to_string(),
            assistant: assistant.to_string(),
        })
    }

    fn marker(name: &str) -> String {
        format!("\n\n{name}:")
    }
}

/// Conversational role names used in `{role, content}` values (TRL's).
pub const USER: &str = "user";
pub const ASSISTANT: &str = "assistant";

/// Why a row has no clean prompt/response split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitFailure {
    /// Chosen and rejected share no complete assistant turn marker / user message.
    NoSharedPrompt,
    /// They differ before their last assistant turn (multi-turn responses).
    DivergesEarlier,
    /// Chosen and rejected are the same transcript.
    Identical,
}

impl SplitFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            SplitFailure::NoSharedPrompt => "no_shared_prompt",
            SplitFailure::DivergesEarlier => "diverges_before_last_turn",
            SplitFailure::Identical => "identical",
        }
    }
}

/// The split of every row: prompt, chosen and rejected remainders (null where the row
/// has no clean split) and the reason for each failure.
pub struct Split {
    pub prompt: ArrayRef,
    pub chosen: ArrayRef,
    pub rejected: ArrayRef,
    pub failure: Vec<Option<SplitFailure>>,
}

/// The split's columns under construction: one entry per row, parts or a failure.
struct Rows<T> {
    prompt: Vec<Option<T>>,
    chosen: Vec<Option<T>>,
    rejected: Vec<Option<T>>,
    failure: Vec<Option<SplitFailure>>,
}

impl<T> Rows<T> {
    fn with_capacity(n: usize) -> Self {
        Rows {
            prompt: Vec::with_capacity(n),
            chosen: Vec::with_capacity(n),
            rejected: Vec::with_capacity(n),
            failure: Vec::with_capacity(n),
        }
    }

    fn push(&mut self, row: std::result::Result<(T, T, T), SplitFailure>) {
        let (parts, failure) = match row {
            Ok((p, c, r)) => ((Some(p), Some(c), Some(r)), None),
            Err(f) => ((None, None, None), Some(f)),
        };
        self.prompt.push(parts.0);
        self.chosen.push(parts.1);
        self.rejected.push(parts.2);
        self.failure.push(failure);
    }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Split one pair of HH-style strings; `Ok(cut)` is the byte length of the prompt.
fn split_text(c: &str, r: &str, roles: &Roles) -> std::result::Result<usize, SplitFailure> {
    if c == r {
        return Err(SplitFailure::Identical);
    }
    let shared = &c[..floor_char_boundary(c, common_prefix(c.as_bytes(), r.as_bytes()))];
    let marker = Roles::marker(&roles.assistant);
    let cut = shared
        .rfind(&marker)
        .map(|p| p + marker.len())
        .ok_or(SplitFailure::NoSharedPrompt)?;
    let user = Roles::marker(&roles.user);
    if c[cut..].contains(&user) || r[cut..].contains(&user) {
        return Err(SplitFailure::DivergesEarlier);
    }
    Ok(cut)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn text_column(name: &str, array: &ArrayRef) -> Result<Ids> {
    if let Some(row) = first_null(array.as_ref()) {
        return Err(Error::value(name, row, "null transcript"));
    }
    Ids::new(name, array)
}

fn utf8<'a>(ids: IdAccessor<'a>, column: &str, row: usize) -> Result<&'a str> {
    std::str::from_utf8(ids.get(row)).map_err(|_| Error::value(column, row, "invalid UTF-8"))
}

/// Split HH-style string transcripts into prompt and responses.
fn split_strings(
    names: (&str, &str),
    chosen: &ArrayRef,
    rejected: &ArrayRef,
    roles: &Roles,
) -> Result<Split> {
    let (c_ids, r_ids) = (
        text_column(names.0, chosen)?,
        text_column(names.1, rejected)?,
    );
    let (c_acc, r_acc) = (c_ids.accessor(), r_ids.accessor());
    let mut rows = Rows::with_capacity(c_ids.len());
    for row in 0..c_ids.len() {
        let (c, r) = (utf8(c_acc, names.0, row)?, utf8(r_acc, names.1, row)?);
        rows.push(split_text(c, r, roles).map(|cut| (&c[..cut], &c[cut..], &r[cut..])));
    }
    Ok(Split {
        prompt: Arc::new(StringArray::from(rows.prompt)),
        chosen: Arc::new(StringArray::from(rows.chosen)),
        rejected: Arc::new(StringArray::from(rows.rejected)),
        failure: rows.failure,
    })
}

/// A conversational column: message offsets and the role/content strings.
struct Messages<'a, O: OffsetSizeTrait> {
    list: &'a GenericListArray<O>,
    role: Ids,
    content: Ids,
}

impl<'a, O: OffsetSizeTrait> Messages<'a, O> {
    fn new(name: &str, array: &'a ArrayRef) -> Result<Self> {
        if let Some(row) = first_null(array.as_ref()) {
            return Err(Error::value(name, row, "null conversation"));
        }
        let list = array.as_list::<O>();
        let wrong = || Error::WrongType {
            column: name.to_string(),
            found: array.data_type().to_string(),
            expected: "a list of {role, content} structs".to_string(),
        };
        let messages: &StructArray = list.values().as_struct_opt().ok_or_else(wrong)?;
        let field = |f: &str| messages.column_by_name(f).cloned().ok_or_else(wrong);
        Ok(Messages {
            list,
            role: Ids::new(&format!("{name}.role"), &field("role")?)?,
            content: Ids::new(&format!("{name}.content"), &field("content")?)?,
        })
    }

    fn range(&self, row: usize) -> std::ops::Range<usize> {
        let o = self.list.value_offsets();
        o[row].as_usize()..o[row + 1].as_usize()
    }

    fn same(&self, i: usize, other: &Self, j: usize) -> bool {
        self.role.get(i) == other.role.get(j) && self.content.get(i) == other.content.get(j)
    }
}

/// Rows of `values` taken as lists: `ranges[row]` (None gives a null list).
fn take_lists<O: OffsetSizeTrait>(
    list: &GenericListArray<O>,
    ranges: &[Option<std::ops::Range<usize>>],
) -> Result<ArrayRef> {
    let mut indices = Vec::new();
    let mut offsets = Vec::with_capacity(ranges.len() + 1);
    offsets.push(O::usize_as(0));
    for r in ranges {
        if let Some(r) = r {
            indices.extend(r.clone().map(|i| i as u64));
        }
        offsets.push(O::usize_as(indices.len()));
    }
    let values = arrow_select::take::take(list.values(), &UInt64Array::from(indices), None)?;
    let nulls = NullBuffer::from_iter(ranges.iter().map(Option::is_some));
    let field = match list.data_type() {
        DataType::List(f) | DataType::LargeList(f) => f.clone(),
        _ => unreachable!("a list array has a list type"),
    };
    Ok(Arc::new(GenericListArray::<O>::try_new(
        field,
        OffsetBuffer::new(offsets.into()),
        values,
        (nulls.null_count() > 0).then_some(nulls),
    )?))
}

fn split_conversations<O: OffsetSizeTrait>(
    names: (&str, &str),
    chosen: &ArrayRef,
    rejected: &ArrayRef,
) -> Result<Split> {
    let c = Messages::<O>::new(names.0, chosen)?;
    let r = Messages::<O>::new(names.1, rejected)?;
    let n = c.list.len();
    let mut rows = Rows::with_capacity(n);
    for row in 0..n {
        let (cr, rr) = (c.range(row), r.range(row));
        let shared = cr
            .clone()
            .zip(rr.clone())
            .take_while(|&(i, j)| c.same(i, &r, j))
            .count();
        let verdict = if shared == cr.len() && shared == rr.len() {
            Err(SplitFailure::Identical)
        } else {
            // The prompt ends with the last shared message that is not the assistant's.
            let mut cut = shared;
            while cut > 0 && c.role.get(cr.start + cut - 1) == ASSISTANT.as_bytes() {
                cut -= 1;
            }
            let user_after = |m: &Messages<O>, range: std::ops::Range<usize>| {
                range.skip(cut).any(|i| m.role.get(i) == USER.as_bytes())
            };
            if cut == 0 {
                Err(SplitFailure::NoSharedPrompt)
            } else if user_after(&c, cr.clone()) || user_after(&r, rr.clone()) {
                Err(SplitFailure::DivergesEarlier)
            } else {
                Ok(cut)
            }
        };
        rows.push(verdict.map(|cut| {
            (
                cr.start..cr.start + cut,
                cr.start + cut..cr.end,
                rr.start + cut..rr.end,
            )
        }));
    }
    Ok(Split {
        prompt: take_lists(c.list, &rows.prompt)?,
        chosen: take_lists(c.list, &rows.chosen)?,
        rejected: take_lists(r.list, &rows.rejected)?,
        failure: rows.failure,
    })
}

/// Split the shared prompt off `chosen` and `rejected` transcripts (HH-style strings
/// or conversations). Rows without a clean split get nulls and a reason.
pub fn extract_prompt(
    names: (&str, &str),
    chosen: &ArrayRef,
    rejected: &ArrayRef,
    roles: &Roles,
) -> Result<Split> {
    if chosen.len() != rejected.len() {
        return Err(Error::argument(format!(
            "'{}' has {} rows but '{}' has {}",
            names.0,
            chosen.len(),
            names.1,
            rejected.len()
        )));
    }
    match (chosen.data_type(), rejected.data_type()) {
        (DataType::List(_), DataType::List(_)) => {
            split_conversations::<i32>(names, chosen, rejected)
        }
        (DataType::LargeList(_), DataType::LargeList(_)) => {
            split_conversations::<i64>(names, chosen, rejected)
        }
        (a, b) if is_string(a) && is_string(b) => split_strings(names, chosen, rejected, roles),
        (a, b) => Err(Error::WrongType {
            column: format!("{}/{}", names.0, names.1),
            found: format!("{a} and {b}"),
            expected: "both strings or both lists of {role, content} structs".to_string(),
        }),
    }
}

fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// The fields of conversational messages, nullable like the type pyarrow infers
/// from Python dicts, so results concatenate with user data.
pub fn message_fields() -> Fields {
    Fields::from(vec![
        Field::new("role", DataType::Utf8, true),
        Field::new("content", DataType::Utf8, true),
    ])
}

/// Parse HH-style transcripts into `{role, content}` messages (`user`/`assistant`).
pub fn parse_transcripts(name: &str, texts: &ArrayRef, roles: &Roles) -> Result<ArrayRef> {
    let ids = text_column(name, texts)?;
    let acc = ids.accessor();
    let markers = [
        (Roles::marker(&roles.user), USER),
        (Roles::marker(&roles.assistant), ASSISTANT),
    ];
    let fields = message_fields();
    let mut builder = ListBuilder::new(StructBuilder::from_fields(fields.clone(), 0))
        .with_field(Arc::new(Field::new("item", DataType::Struct(fields), true)));
    for row in 0..ids.len() {
        let text = utf8(acc, name, row)?;
        // Every marker position, in order.
        let mut found: Vec<(usize, usize, &str)> = markers
            .iter()
            .flat_map(|(m, role)| {
                text.match_indices(m.as_str())
                    .map(move |(p, _)| (p, m.len(), *role))
            })
            .collect();
        found.sort_unstable();
        match found.first() {
            None => {
                return Err(Error::value(
                    name,
                    row,
                    format!(
                        "no '{}:' or '{}:' turn marker (each turn starts with a blank line)",
                        roles.user, roles.assistant
                    ),
                ))
            }
            Some(&(p, _, _)) if !text[..p].trim().is_empty() => {
                return Err(Error::value(name, row, "text before the first turn marker"))
            }
            _ => {}
        }
        let messages = builder.values();
        for (k, &(p, len, role)) in found.iter().enumerate() {
            let end = found.get(k + 1).map_or(text.len(), |f| f.0);
            let body = &text[p + len..end];
            let content = body.strip_prefix(' ').unwrap_or(body);
            messages
                .field_builder::<StringBuilder>(0)
                .expect("role builder")
                .append_value(role);
            messages
                .field_builder::<StringBuilder>(1)
                .expect("content builder")
                .append_value(content);
            messages.append(true);
        }
        builder.append(true);
    }
    Ok(Arc::new(builder.finish()))
}

/// Render `{role, content}` messages as HH-style transcripts, the inverse of
/// [`parse_transcripts`].
pub fn render_transcripts(name: &str, messages: &ArrayRef, roles: &Roles) -> Result<ArrayRef> {
    match messages.data_type() {
        DataType::List(_) => render::<i32>(name, messages, roles),
        DataType::LargeList(_) => render::<i64>(name, messages, roles),
        other => Err(Error::WrongType {
            column: name.to_string(),
            found: other.to_string(),
            expected: "a list of {role, content} structs".to_string(),
        }),
    }
}

fn render<O: OffsetSizeTrait>(name: &str, array: &ArrayRef, roles: &Roles) -> Result<ArrayRef> {
    let m = Messages::<O>::new(name, array)?;
    let mut out = StringBuilder::new();
    let mut text = String::new();
    // HH text has no escape: content holding a turn marker would parse back as more
    // turns, so it is refused rather than rendered into a different conversation.
    let markers = [
        format!("\n\n{}:", roles.user),
        format!("\n\n{}:", roles.assistant),
    ];
    for row in 0..m.list.len() {
        text.clear();
        for i in m.range(row) {
            let role = match m.role.get(i) {
                r if r == USER.as_bytes() => &roles.user,
                r if r == ASSISTANT.as_bytes() => &roles.assistant,
                other => {
                    return Err(Error::value(
                        name,
                        row,
                        format!(
                        "role '{}' has no transcript marker (only '{USER}' and '{ASSISTANT}' do)",
                        String::from_utf8_lossy(other)
                    ),
                    ))
                }
            };
            let content = std::str::from_utf8(m.content.get(i))
                .map_err(|_| Error::value(name, row, "invalid UTF-8 content"))?;
            if let Some(marker) = markers.iter().find(|mk| content.contains(mk.as_str())) {
                return Err(Error::value(
                    name,
                    row,
                    format!(
                        "message {} holds the turn marker {marker:?} in its content; HH \
                         text has no escape for it, so it would parse back as another turn",
                        i - m.range(row).start
                    ),
                ));
            }
            text.push_str("\n\n");
            text.push_str(role);
            text.push_str(": ");
            text.push_str(content);
        }
        out.append_value(&text);
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hh_split_cuts_after_the_last_shared_assistant_marker() {
        let roles = Roles::default();
        let c = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: joke?\n\nAssistant: Sure, one.";
        let r = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: joke?\n\nAssistant: Sorry, no.";
        let cut = split_text(c, r, &roles).unwrap();
        assert_eq!(
            &c[..cut],
            "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: joke?\n\nAssistant:"
        );
        assert_eq!(&r[cut..], " Sorry, no.");
        assert_eq!(split_text(c, c, &roles), Err(SplitFailure::Identical));
        let early = "\n\nHuman: hi\n\nAssistant: bye\n\nHuman: joke?\n\nAssistant: Sure, one.";
        assert_eq!(
            split_text(c, early, &roles),
            Err(SplitFailure::DivergesEarlier)
        );
        assert_eq!(
            split_text("\n\nHuman: a", "\n\nHuman: b", &roles),
            Err(SplitFailure::NoSharedPrompt)
        );
    }

    #[test]
    fn common_prefix_never_splits_a_character() {
        // 'é' and 'è' share their first UTF-8 byte.
        let roles = Roles::default();
        let c = "\n\nHuman: x\n\nAssistant: é";
        let r = "\n\nHuman: x\n\nAssistant: è";
        let cut = split_text(c, r, &roles).unwrap();
        assert_eq!(&c[cut..], " é");
    }
}
