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
    /// An event is malformed; in a batch, nothing of the batch was applied.
    #[error("bad event{}: {field}: {message}", index.map(|i| format!(" at index {i}")).unwrap_or_default(), field = if field.is_empty() { "event" } else { field })]
    BadEvent {
        /// The position of the bad event in its batch, if it came in one.
        index: Option<usize>,
        /// The field at fault (`keys[0]`, `rating`...); empty for the whole event.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A storage backend failed; nothing of the operation was applied.
    #[error("storage: {message}")]
    Storage {
        /// What failed.
        message: String,
        /// The backend's error, if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// An operation was refused because it would break an identity rule.
    #[error("identity conflict: {message}")]
    Conflict {
        /// Why.
        message: String,
    },
    /// The tracker or store was closed.
    #[error("the {what} is closed")]
    Closed {
        /// What was closed (`tracker`, `store`).
        what: &'static str,
    },
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

    /// Attaches a batch index to a bad-event error.
    pub(crate) fn at_index(self, i: usize) -> Self {
        match self {
            Error::BadEvent { field, message, .. } => Error::BadEvent { index: Some(i), field, message },
            other => other,
        }
    }

    /// A storage error with its source.
    pub fn storage(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Storage { message: message.into(), source: Some(Box::new(source)) }
    }

    /// Attaches the file a parse error came from.
    pub(crate) fn in_file(self, file: &Path) -> Self {
        match self {
            Error::Parse { path, message, .. } => Error::Parse { file: Some(file.display().to_string()), path, message },
            other => other,
        }
    }

    /// A stable, short name of the error's kind (`parse`, `validation`, `emotion`,
    /// `bad_event`, `storage`, `conflict`, `closed`, `not_found`, `io`), used by the bindings to pick their error class or code.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Parse { .. } => "parse",
            Error::Validation(_) => "validation",
            Error::Emotion(_) => "emotion",
            Error::BadEvent { .. } => "bad_event",
            Error::Storage { .. } => "storage",
            Error::Conflict { .. } => "conflict",
            Error::Closed { .. } => "closed",
            Error::NotFound { .. } => "not_found",
            Error::Io { .. } => "io",
        }
    }
}

/// `Result` with journey-core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
