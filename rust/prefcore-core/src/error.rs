//! The one error type of the core. Every variant names what the caller must fix:
//! the column, the row (or group / query id) and what was expected.

use arrow_schema::ArrowError;

/// Result alias used throughout the core.
pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A requested column is not in the table.
    #[error("column '{column}' not found; the table has columns [{available}]")]
    MissingColumn { column: String, available: String },

    /// A column has a data type the operation cannot use (maps to `TypeError`).
    #[error("column '{column}' has type {found}; expected {expected}")]
    WrongType {
        column: String,
        found: String,
        expected: String,
    },

    /// One value is invalid (null, NaN, negative, ...).
    #[error("column '{column}', row {row}: {message}")]
    InvalidValue {
        column: String,
        row: usize,
        message: String,
    },

    /// One query of a TREC run or qrels is invalid, e.g. a duplicate document.
    #[error("column '{column}', query '{query_id}': {message}")]
    InvalidQuery {
        column: String,
        query_id: String,
        message: String,
    },

    /// An argument that is not a column (a metric name, a cutoff, an option), named
    /// when one argument is at fault (not when it is the combination, or the data).
    #[error("{message}")]
    InvalidArgument {
        argument: Option<String>,
        message: String,
    },

    /// A malformed line in a text file.
    #[error("{path}, line {line}: {message}")]
    Parse {
        path: String,
        line: usize,
        message: String,
    },

    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// An output sized by an argument needs more memory than can be had (`MemoryError`).
    #[error("not enough memory for {what} ({bytes} bytes); ask for a smaller {what}")]
    OutOfMemory { what: String, bytes: String },

    /// The user pressed Ctrl-C during a long call (`KeyboardInterrupt`).
    #[error("interrupted")]
    Interrupted,

    /// An Arrow kernel failed (a cast or a concatenation).
    #[error("arrow: {0}")]
    Arrow(#[from] ArrowError),
}

impl Error {
    pub fn value(column: &str, row: usize, message: impl Into<String>) -> Self {
        Error::InvalidValue {
            column: column.to_string(),
            row,
            message: message.into(),
        }
    }

    /// A bad argument (or combination of them) that no one argument is to blame for.
    pub fn argument(message: impl Into<String>) -> Self {
        Error::InvalidArgument {
            argument: None,
            message: message.into(),
        }
    }

    /// The argument `argument` has a value the call refuses.
    pub fn bad_argument(argument: &str, message: impl Into<String>) -> Self {
        Error::InvalidArgument {
            argument: Some(argument.to_string()),
            message: message.into(),
        }
    }
}

/// An option's vocabulary: the argument it is given as and every spelling it accepts,
/// defined once (by [`parse_option!`]) so that a binding can convert a string at its
/// boundary, name the argument in an error, and show its users the accepted values.
pub trait OptionValues: std::str::FromStr<Err = Error> {
    /// The argument's name in the Python API.
    const ARGUMENT: &'static str;
    /// Every accepted spelling, in the order of the definition.
    const VALUES: &'static [&'static str];
}

/// `FromStr` and [`OptionValues`] for an option enum, from the spellings each variant
/// accepts; an unknown spelling is an [`Error::InvalidArgument`] listing the accepted
/// ones.
#[macro_export]
macro_rules! parse_option {
    ($ty:ty, $what:literal, { $($($s:literal)|+ => $v:expr),+ $(,)? }) => {
        impl $crate::error::OptionValues for $ty {
            const ARGUMENT: &'static str = $what;
            const VALUES: &'static [&'static str] = &[$($($s),+),+];
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::error::Error;
            fn from_str(s: &str) -> $crate::error::Result<Self> {
                match s {
                    $($($s)|+ => Ok($v),)+
                    _ => {
                        let accepted = [$($(concat!("'", $s, "'")),+),+].join(", ");
                        Err($crate::error::Error::bad_argument($what, format!(
                            "{} must be one of {}; not '{}'", $what, accepted, s
                        )))
                    }
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::{Error, OptionValues};
    use crate::metrics::significance::Test;
    use crate::pairs::Strategy;

    /// Every listed spelling parses, and an unknown one is an argument error that
    /// names the argument and lists exactly the listed spellings.
    fn check<T: OptionValues + std::fmt::Debug>(expected: &[&str]) {
        assert_eq!(T::VALUES, expected);
        for value in T::VALUES {
            assert!(value.parse::<T>().is_ok(), "{value}");
        }
        let Err(Error::InvalidArgument { argument, message }) = "no-such".parse::<T>() else {
            panic!("an unknown spelling parsed");
        };
        assert_eq!(argument.as_deref(), Some(T::ARGUMENT));
        let listed: Vec<String> = expected.iter().map(|v| format!("'{v}'")).collect();
        assert_eq!(
            message,
            format!(
                "{} must be one of {}; not 'no-such'",
                T::ARGUMENT,
                listed.join(", ")
            )
        );
    }

    #[test]
    fn vocabularies_list_what_they_parse() {
        check::<Strategy>(&[
            "best_worst",
            "best_random",
            "best_vs_rest",
            "top_k_bottom_k",
            "all_pairs",
            "random_pairs",
        ]);
        // Aliases are listed too: each one is accepted.
        check::<Test>(&[
            "t",
            "student",
            "randomization",
            "permutation",
            "fisher",
            "bootstrap",
        ]);
        assert_eq!(Strategy::ARGUMENT, "strategy");
        assert_eq!("student".parse::<Test>().ok(), Some(Test::T));
    }
}
