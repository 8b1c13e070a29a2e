//! Text columns: plain strings, or conversations rendered to one string.
//!
//! A conversational value (a list of `{role, content}` structs, TRL's format) is
//! rendered as one line per message, `role: content`, joined with `\n`. Dedup compares
//! these renderings, so two conversations are equal exactly when every message's role
//! and content are.

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, GenericListArray, OffsetSizeTrait, StructArray};
use arrow_schema::DataType;

use super::normalize::Normalizer;
use crate::columns::{first_null, IdAccessor, Ids};
use crate::error::{Error, Result};

/// The strings of a conversation column: the role and content arrays and the offsets.
struct Conversation {
    offsets: Vec<usize>,
    role: Ids,
    content: Ids,
}

enum Kind {
    Plain(Ids),
    Conversation(Conversation),
}

/// A column of texts, read row by row without copying plain strings.
pub struct TextColumn {
    name: String,
    kind: Kind,
    len: usize,
}

fn conversation<O: OffsetSizeTrait>(
    name: &str,
    list: &GenericListArray<O>,
) -> Result<Conversation> {
    let expected = "strings or a list of {role, content} structs";
    let messages: &StructArray = list
        .values()
        .as_struct_opt()
        .ok_or_else(|| Error::WrongType {
            column: name.to_string(),
            found: list.data_type().to_string(),
            expected: expected.to_string(),
        })?;
    let field = |f: &str| -> Result<ArrayRef> {
        messages
            .column_by_name(f)
            .cloned()
            .ok_or_else(|| Error::WrongType {
                column: name.to_string(),
                found: list.data_type().to_string(),
                expected: format!("{expected} (no '{f}' field)"),
            })
    };
    let role = Ids::new(&format!("{name}.role"), &field("role")?)?;
    let content = Ids::new(&format!("{name}.content"), &field("content")?)?;
    Ok(Conversation {
        offsets: list.value_offsets().iter().map(|o| o.as_usize()).collect(),
        role,
        content,
    })
}

impl TextColumn {
    pub fn new(name: &str, array: &ArrayRef) -> Result<Self> {
        if let Some(row) = first_null(array.as_ref()) {
            return Err(Error::value(
                name,
                row,
                "null text; fill or drop nulls first",
            ));
        }
        let kind = match array.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                Kind::Plain(Ids::new(name, array)?)
            }
            // An empty column built from an empty list has no type yet.
            DataType::Null => {
                Kind::Plain(Ids::new(name, &arrow_cast::cast(array, &DataType::Utf8)?)?)
            }
            DataType::List(_) => Kind::Conversation(conversation(name, array.as_list::<i32>())?),
            DataType::LargeList(_) => {
                Kind::Conversation(conversation(name, array.as_list::<i64>())?)
            }
            other => {
                return Err(Error::WrongType {
                    column: name.to_string(),
                    found: other.to_string(),
                    expected: "strings or a list of {role, content} structs".to_string(),
                })
            }
        };
        Ok(TextColumn {
            name: name.to_string(),
            kind,
            len: array.len(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A reader for the hot loops.
    pub fn reader(&self) -> TextReader<'_> {
        match &self.kind {
            Kind::Plain(ids) => TextReader::Plain(ids.accessor()),
            Kind::Conversation(c) => TextReader::Conversation {
                offsets: &c.offsets,
                role: c.role.accessor(),
                content: c.content.accessor(),
            },
        }
    }
}

/// Borrowed reader of a [`TextColumn`].
#[derive(Clone, Copy)]
pub enum TextReader<'a> {
    Plain(IdAccessor<'a>),
    Conversation {
        offsets: &'a [usize],
        role: IdAccessor<'a>,
        content: IdAccessor<'a>,
    },
}

impl<'a> TextReader<'a> {
    /// The text of `row` after `normalizer` (if any), using the two buffers.
    pub fn normalized<'b>(
        &self,
        row: usize,
        normalizer: Option<&Normalizer>,
        raw: &'b mut String,
        normalized: &'b mut String,
    ) -> &'b str
    where
        'a: 'b,
    {
        let text = self.get(row, raw);
        match normalizer {
            Some(n) => {
                normalized.clear();
                n.normalize_into(text, normalized);
                normalized.as_str()
            }
            None => text,
        }
    }

    /// The text of `row`: borrowed for plain strings, rendered into `buf` otherwise.
    pub fn get<'b>(&self, row: usize, buf: &'b mut String) -> &'b str
    where
        'a: 'b,
    {
        match *self {
            TextReader::Plain(ids) => ids.text(row),
            TextReader::Conversation {
                offsets,
                role,
                content,
            } => {
                buf.clear();
                for m in offsets[row]..offsets[row + 1] {
                    if m > offsets[row] {
                        buf.push('\n');
                    }
                    buf.push_str(&String::from_utf8_lossy(role.get(m)));
                    buf.push_str(": ");
                    buf.push_str(&String::from_utf8_lossy(content.get(m)));
                }
                buf
            }
        }
    }
}

/// A plain string column named "text", for tests.
#[cfg(test)]
pub fn test_column(values: &[&str]) -> TextColumn {
    let array: ArrayRef = std::sync::Arc::new(arrow_array::StringArray::from(values.to_vec()));
    TextColumn::new("text", &array).expect("a string column")
}
