//! Errors of journey-core, matchable by kind.

use std::path::Path;

use crate::emotion::EmotionError;
use crate::validate::ValidationErrors;

/// Any error journey-core returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A document or value is malformed: wrong type, unknown field, bad syntax.
    #[error("{}{}: {message}", file.as_deref().map(|f| format!("{f}: ")).unwrap_or_default(), if path.is_empty() { "document" } else { path })]
    Parse {
        /// The file it was read from, if any.
        file: Option<String>,
        /// The path of the bad element in the document, e.g. `maps[0].touchpoints[2].emotion`.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A well-formed map document breaks one or more rules; every problem is listed.
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    /// An emotion rating outside its scale.
    #[error(transparent)]
    Emotion(#[from] EmotionError),
    /// Something asked for by id does not exist.
    #[error("no {what} with id {id:?}")]
    NotFound {
        /// What was looked for (`map`, `persona`...).
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// A parse error at a path, with no file.
    pub fn parse(path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Parse { file: None, path: path.into(), message: message.into() }
    }

    /// Attaches the file a parse error came from.
    pub(crate) fn in_file(self, file: &Path) -> Self {
        match self {
            Error::Parse { path, message, .. } => Error::Parse { file: Some(file.display().to_string()), path, message },
            other => other,
        }
    }

    /// A stable, short name of the error's kind (`parse`, `validation`, `emotion`,
    /// `not_found`, `io`), used by the bindings to pick their error class or code.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Parse { .. } => "parse",
            Error::Validation(_) => "validation",
            Error::Emotion(_) => "emotion",
            Error::NotFound { .. } => "not_found",
            Error::Io { .. } => "io",
        }
    }
}

/// `Result` with journey-core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
