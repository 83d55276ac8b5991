//! Errors of journey-core, matchable by kind.
//!
//! # Error catalogue
//!
//! Every operation that can fail returns [`Error`]. Its [`kind`](Error::kind) is a stable
//! short name; the Python binding raises one exception class per kind, all deriving from
//! `JourneyError` (with the kind as `kind` and the data below as attributes), and the Node
//! binding throws an `Error` whose `code` names the kind (with the same data as
//! properties). No Rust panic crosses a binding: one is reported as `internal`.
//!
//! | kind | Rust | Python | Node `code` | Cause | What to do |
//! |---|---|---|---|---|---|
//! | `parse` | [`Error::Parse`] | `ParseError` | `E_PARSE` | A document or value is malformed: not JSON, an unknown field (a typo), a wrong type, a bad identity key or duration, JSON nested deeper than 128 levels, a map format newer than the library. `path` (and `file`) say where. | Fix the element at `path`; for a newer format, upgrade journey-core. |
//! | `validation` | [`Error::Validation`] | `ValidationError` | `E_VALIDATION` | A well-formed map breaks rules: duplicate or empty ids, unknown phases, personas or references, an event claimed by two touchpoints, an empty phase, an emotion out of range, an inconsistent waypoint, or a map larger than the [`Limits`](crate::Limits) allow (`limit_exceeded`). Every [`Problem`](crate::Problem) is listed with its path. | Fix each problem at its path (`MapDocument::problems` lists them without failing); for `limit_exceeded`, split the map or raise the limit in `TrackerConfig::limits`. |
//! | `emotion` | [`Error::Emotion`] | `EmotionError` (also `ValueError`) | `E_EMOTION` | A rating outside its scale: CSAT not 1-5, NPS not 0-10, a score outside [-1, 1], an unknown label. Never clamped. | Send a rating within `range`, or convert it to the scale you meant. |
//! | `bad_event` | [`Error::BadEvent`] | `BadEventError` (also `ValueError`) | `E_BAD_EVENT` | An event is malformed: a missing or unknown field, no identity key, a bad key, an empty name or channel, a rating out of range, a naive `datetime` (Python). `field` names it; `index` its position in a batch. Nothing of the event, or of its batch, was applied. | Fix or drop the event at `index` and send the batch again; it is safe to retry, nothing was stored. |
//! | `limit` | [`Error::Limit`] | `LimitError` (also `ValueError`) | `E_LIMIT` | An event or batch is larger than the tracker's [`Limits`](crate::Limits): `limit` names the limit, `max` its value, `value` what was found, `field` where (`keys[3]`, `properties.cart`, `events`), `index` the event in a batch. Nothing was applied. | Usually hostile or buggy input: drop or trim it (split a large batch). If such input is legitimate, raise that limit in the tracker's configuration. |
//! | `storage` | [`Error::Storage`] | `StorageError` | `E_STORAGE` | The store failed: disk full, a locked or damaged database, a database written by a newer version. The backend's error is kept as the source (and in the message). Nothing of the operation was applied. | Check the message and the backend (space, permissions, another writer); retry once it is fixed. A damaged store needs restoring from a backup. |
//! | `conflict` | [`Error::Conflict`] | `ConflictError` | `E_CONFLICT` | An operation would break an identity rule, e.g. unlinking keys that are in different profiles or not linked directly. (A link refused by an identity limit is not an error: it is recorded as a [`Conflict`](crate::Conflict).) | Look at the profile's link log and remove a link that really exists. |
//! | `closed` | [`Error::Closed`] | `ClosedError` | `E_CLOSED` | The tracker (or its store) was closed; every later call fails. | Create a new tracker; do not share one past its `close`. |
//! | `not_found` | [`Error::NotFound`] | `NotFoundError` | `E_NOT_FOUND` | An id asked for does not exist: a map, a preset, a phase in a filter, an identity key never seen. `what` and `id` say which. | Use an id the document or tracker has (`map_ids`, `presets`...). |
//! | `io` | [`Error::Io`] | `JourneyIOError` (also `OSError`) | `E_IO` | Reading or writing a file failed (missing, no permission, no space). `path` is the file; the operating system's error is the source. | Fix the path or the permissions and retry. |
//! | `internal` | — (a caught panic) | `InternalError` | `E_INTERNAL` | A bug in journey-core: Rust code panicked. The bindings catch it, so the host process lives on; the operation may have been applied in part. | Report it with the message and, if you can, the input; the tracker can go on being used. |
//!
//! In a batch, only `bad_event` and `limit` carry an `index`; both mean the whole batch
//! was refused before anything was stored.

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
    /// An input is larger than a configured [`Limits`](crate::Limits) allows: an event,
    /// a batch. Nothing of it (or of its batch) was applied.
    #[error("limit exceeded{}: {field}: {}", index.map(|i| format!(" at index {i}")).unwrap_or_default(), crate::limits::describe(limit, *max, *value), field = if field.is_empty() { "event" } else { field })]
    Limit {
        /// The limit broken: the name of its [`Limits`](crate::Limits) field
        /// (`event_name_len`, `batch_size`...).
        limit: &'static str,
        /// The limit's value.
        max: usize,
        /// The value found (a length, a count, a depth).
        value: usize,
        /// The field at fault (`keys[3]`, `properties.cart`, `events`...).
        field: String,
        /// The position of the event in its batch, if it came in one.
        index: Option<usize>,
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

/// The path serde_path_to_error reports, or `None` for the root (`.`) and for an unknown
/// place (`?`: the text is not JSON at all), where the whole document is at fault.
pub(crate) fn json_path(path: &serde_path_to_error::Path) -> Option<String> {
    Some(path.to_string()).filter(|p| p != "." && p != "?")
}

impl Error {
    /// A parse error at a path, with no file.
    pub fn parse(path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Parse { file: None, path: path.into(), message: message.into() }
    }

    /// Attaches a batch index to a bad-event or limit error (others are returned as they are).
    pub fn at_index(self, i: usize) -> Self {
        match self {
            Error::BadEvent { field, message, .. } => Error::BadEvent { index: Some(i), field, message },
            Error::Limit { limit, max, value, field, .. } => Error::Limit { limit, max, value, field, index: Some(i) },
            other => other,
        }
    }

    /// A limit broken by a value.
    pub(crate) fn limit(limit: &'static str, max: usize, value: usize, field: impl Into<String>) -> Self {
        Error::Limit { limit, max, value, field: field.into(), index: None }
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
    /// `bad_event`, `limit`, `storage`, `conflict`, `closed`, `not_found`, `io`), used by the bindings to pick their error class or code.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Parse { .. } => "parse",
            Error::Validation(_) => "validation",
            Error::Emotion(_) => "emotion",
            Error::BadEvent { .. } => "bad_event",
            Error::Limit { .. } => "limit",
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
