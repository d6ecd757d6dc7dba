//! One mapping from the core's error to Python exceptions.

use nearcopy_core::Error;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::PyErr;

pub fn to_py_err(err: Error) -> PyErr {
    match err {
        Error::InvalidArgument(message) => PyValueError::new_err(message),
        Error::Resource(message) => PyRuntimeError::new_err(message),
        Error::Io(message) | Error::Corrupt(message) => PyOSError::new_err(message),
    }
}
