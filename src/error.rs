//! The command's one error type: what went wrong, said so a person can act on it. Every
//! error ends a command with exit code 2 ("could not run"); a check that failed is not an
//! error but a verdict (exit 1).

use std::fmt;

use faultline_sim::scenario::InputError;

/// Why a command could not run.
#[derive(Debug)]
pub enum Error {
    /// Bad input: the file, the line and the field.
    Input(InputError),
    /// Something the command needed failed: a socket, a file, a process.
    Failed(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input(e) => write!(f, "{e}"),
            Error::Failed(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<InputError> for Error {
    fn from(e: InputError) -> Error {
        Error::Input(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Failed(e.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Error {
        Error::Failed(e.to_string())
    }
}

impl From<String> for Error {
    fn from(e: String) -> Error {
        Error::Failed(e)
    }
}

impl From<&str> for Error {
    fn from(e: &str) -> Error {
        Error::Failed(e.to_string())
    }
}
