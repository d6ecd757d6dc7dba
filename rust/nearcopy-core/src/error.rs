//! The one error type of the core. The binding layer maps each variant to one Python exception.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// An argument is out of its allowed range or names something unknown (Python: `ValueError`).
    InvalidArgument(String),
    /// The machine refused a resource, e.g. worker threads could not be started (Python: `RuntimeError`).
    Resource(String),
    /// A file could not be read or written (Python: `OSError`).
    Io(String),
    /// A file is not a valid nearcopy index: truncated, damaged, foreign or of another version.
    Corrupt(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgument(message)
            | Error::Resource(message)
            | Error::Io(message)
            | Error::Corrupt(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

/// Shorthand for building an [`Error::InvalidArgument`] with `format!` syntax.
#[macro_export]
macro_rules! invalid {
    ($($arg:tt)*) => { $crate::error::Error::InvalidArgument(format!($($arg)*)) };
}
