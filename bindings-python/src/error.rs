//! The exception tree, rooted at `JourneyError`, and the exhaustive mapping of the core's
//! [`journey_core::Error`] onto it.
//!
//! Each exception carries the data of the failure as attributes (`path`, `problems`,
//! `scale`...) and a class attribute `kind`, the core's stable kind name, so callers
//! handle errors as data rather than by parsing messages.
//!
//! The classes are created when the module is initialised, with the `type()` call that
//! `PyErr_NewException` itself uses, because four of them have two bases
//! (`EmotionError`, `BadEventError` and `LimitError` are also `ValueError`s,
//! `JourneyIOError` an `OSError`), which `create_exception!` cannot express.
//!
//! No Rust panic reaches Python: every entry point (each `#[pymethods]` block and each
//! `#[pyfunction]`) is written inside [`guarded!`], which runs its body under [`guard`],
//! so a panic becomes an `InternalError` (a `JourneyError`) instead of pyo3's
//! `PanicException`, which derives from `BaseException` and escapes `except Exception`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use journey_core::Error;
use journey_core::emotion::EmotionError as CoreEmotionError;
use journey_core::validate::ValidationErrors;
use pyo3::exceptions::{PyException, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple, PyType};

use crate::map::PyProblem;

/// `JourneyError`: base class of every error journey-core raises.
const JOURNEY_ERROR: &str = "Base class of every error journey-core raises.

Attributes:
    kind: The error's kind, a stable short name: ``parse``, ``validation``,
        ``emotion``, ``bad_event``, ``limit``, ``storage``, ``conflict``, ``closed``,
        ``not_found``, ``io`` or ``internal`` (and, for errors of kinds this version of
        the binding has no class for yet, their core name).";

/// `ParseError`: `Error::Parse`.
const PARSE_ERROR: &str = "A document or value is malformed: bad JSON, an unknown field, a wrong type.

Attributes:
    path: The path of the bad element in the document, e.g.
        ``maps[0].touchpoints[2].emotion`` (empty for the whole document).
    file: The file it was read from, or ``None``.
    message: What is wrong (the exception's text adds the file and the path).";

/// `ValidationError`: `Error::Validation`.
const VALIDATION_ERROR: &str = "A well-formed map document breaks one or more rules.

Attributes:
    problems: Every problem found, as :class:`Problem` objects in document order
        (never empty).";

/// `EmotionError`: `Error::Emotion`.
const EMOTION_ERROR: &str = "An emotion rating outside its scale (never clamped). Also a :class:`ValueError`.

Attributes:
    scale: The scale of the rejected rating: ``label``, ``csat``, ``nps`` or ``score``.
    value: The rejected value, as text.
    range: The accepted range, in words.";

/// `NotFoundError`: `Error::NotFound`.
const NOT_FOUND_ERROR: &str = "Something asked for by id does not exist.

Attributes:
    what: What was looked for (``map``, ``preset``...).
    id: The id asked for.";

/// `JourneyIOError`: `Error::Io`.
const IO_ERROR: &str = "Reading or writing a file failed. Also an :class:`OSError`, with its ``errno``,
``strerror`` and ``filename``.

Attributes:
    path: The file (the same as ``filename``).";

/// `BadEventError`: `Error::BadEvent`.
const BAD_EVENT_ERROR: &str = "An event is malformed; nothing of it (or of its batch) was applied. Also a
:class:`ValueError`.

Attributes:
    index: The position of the bad event in its batch, or ``None`` for a single event.
    field: The field at fault (``ts``, ``keys[0]``, ``rating``...); empty for the
        whole event.
    message: What is wrong (the exception's text adds the index and the field).";

/// `LimitError`: `Error::Limit`.
const LIMIT_ERROR: &str = "An input is larger than a limit allows (an event, a batch); nothing of it (or
of its batch) was applied. Also a :class:`ValueError`.

Attributes:
    limit: The limit broken, by its name in the tracker's ``limits``
        (``event_name_len``, ``batch_size``...).
    max: The limit's value.
    value: The value found (a length in bytes, a count or a depth).
    field: The field at fault (``event``, ``keys[3]``, ``properties.cart``,
        ``events``...).
    index: The position of the event in its batch, or ``None``.";

/// `InternalError`: a caught Rust panic.
const INTERNAL_ERROR: &str = "A bug in journey-core: Rust code panicked. The panic was caught, so the
interpreter goes on; the operation may have been applied in part. Please report it
with the message.

Attributes:
    message: The panic's message.";

/// `StorageError`: `Error::Storage`.
const STORAGE_ERROR: &str = "A storage backend failed; nothing of the operation was applied.

Attributes:
    message: What failed.
    source: The backend's own error, as text, or ``None`` (also appended to the
        exception's text).";

/// `ConflictError`: `Error::Conflict`.
const CONFLICT_ERROR: &str = "An operation was refused because it would break an identity rule, e.g.
unlinking two keys that are not linked.

Attributes:
    message: Why.";

/// `ClosedError`: `Error::Closed`.
const CLOSED_ERROR: &str = "The tracker (or store) was closed; every call on it raises this.

Attributes:
    what: What was closed: ``tracker`` or ``store``.";

/// The exception classes, created once per process.
pub struct ExceptionTypes {
    pub journey: Py<PyType>,
    pub parse: Py<PyType>,
    pub validation: Py<PyType>,
    pub emotion: Py<PyType>,
    pub bad_event: Py<PyType>,
    pub storage: Py<PyType>,
    pub conflict: Py<PyType>,
    pub closed: Py<PyType>,
    pub not_found: Py<PyType>,
    pub io: Py<PyType>,
    pub limit: Py<PyType>,
    pub internal: Py<PyType>,
}

static TYPES: PyOnceLock<ExceptionTypes> = PyOnceLock::new();

impl ExceptionTypes {
    /// The classes with their Python names, for the module to export.
    pub fn named(&self) -> [(&'static str, &Py<PyType>); 12] {
        [
            ("JourneyError", &self.journey),
            ("ParseError", &self.parse),
            ("ValidationError", &self.validation),
            ("EmotionError", &self.emotion),
            ("BadEventError", &self.bad_event),
            ("StorageError", &self.storage),
            ("ConflictError", &self.conflict),
            ("ClosedError", &self.closed),
            ("NotFoundError", &self.not_found),
            ("JourneyIOError", &self.io),
            ("LimitError", &self.limit),
            ("InternalError", &self.internal),
        ]
    }
}

fn new_type(py: Python<'_>, name: &str, doc: &str, kind: &str, bases: &[&Bound<'_, PyType>]) -> PyResult<Py<PyType>> {
    let namespace = PyDict::new(py);
    namespace.set_item("__module__", "journey_core")?;
    namespace.set_item("__doc__", doc)?;
    namespace.set_item("kind", kind)?;
    let bases = PyTuple::new(py, bases)?;
    Ok(py.get_type::<PyType>().call1((name, bases, namespace))?.cast_into::<PyType>()?.unbind())
}

/// The exception classes (created on first use).
pub fn types(py: Python<'_>) -> PyResult<&'static ExceptionTypes> {
    TYPES.get_or_try_init(py, || {
        let journey = new_type(py, "JourneyError", JOURNEY_ERROR, "", &[&py.get_type::<PyException>()])?;
        let root = journey.bind(py);
        Ok(ExceptionTypes {
            parse: new_type(py, "ParseError", PARSE_ERROR, "parse", &[root])?,
            validation: new_type(py, "ValidationError", VALIDATION_ERROR, "validation", &[root])?,
            emotion: new_type(py, "EmotionError", EMOTION_ERROR, "emotion", &[root, &py.get_type::<PyValueError>()])?,
            bad_event: new_type(py, "BadEventError", BAD_EVENT_ERROR, "bad_event", &[root, &py.get_type::<PyValueError>()])?,
            storage: new_type(py, "StorageError", STORAGE_ERROR, "storage", &[root])?,
            conflict: new_type(py, "ConflictError", CONFLICT_ERROR, "conflict", &[root])?,
            closed: new_type(py, "ClosedError", CLOSED_ERROR, "closed", &[root])?,
            not_found: new_type(py, "NotFoundError", NOT_FOUND_ERROR, "not_found", &[root])?,
            io: new_type(py, "JourneyIOError", IO_ERROR, "io", &[root, &py.get_type::<PyOSError>()])?,
            limit: new_type(py, "LimitError", LIMIT_ERROR, "limit", &[root, &py.get_type::<PyValueError>()])?,
            internal: new_type(py, "InternalError", INTERNAL_ERROR, "internal", &[root])?,
            journey,
        })
    })
}

/// An exception of class `ty`, built from `args`, with attributes set on the instance.
fn raise<'py>(
    py: Python<'py>,
    ty: impl FnOnce(&'static ExceptionTypes) -> &'static Py<PyType>,
    args: Bound<'py, PyTuple>,
    attrs: &[(&str, Bound<'py, PyAny>)],
) -> PyResult<PyErr> {
    let class = ty(types(py)?).bind(py);
    let value = class.call1(args)?;
    for (name, attr) in attrs {
        value.setattr(*name, attr)?;
    }
    Ok(PyErr::from_value(value))
}

fn text<'py>(py: Python<'py>, text: &str) -> Bound<'py, PyAny> {
    PyString::new(py, text).into_any()
}

fn message<'py>(py: Python<'py>, message: &str) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, [message])
}

/// Maps the core's error onto the exception tree.
pub fn to_py_err(err: Error) -> PyErr {
    Python::attach(|py| try_to_py_err(py, err).unwrap_or_else(|e| e))
}

fn try_to_py_err(py: Python<'_>, err: Error) -> PyResult<PyErr> {
    let msg = err.to_string();
    match err {
        Error::Parse { file, path, message: detail } => {
            let file = match file {
                Some(f) => text(py, &f),
                None => py.None().into_bound(py),
            };
            raise(py, |t| &t.parse, message(py, &msg)?, &[("path", text(py, &path)), ("file", file), ("message", text(py, &detail))])
        }
        Error::Validation(errors) => Ok(validation(py, errors)),
        Error::Emotion(e) => Ok(emotion(py, e)),
        Error::BadEvent { index, field, message: detail } => {
            let index = match index {
                Some(i) => i.into_pyobject(py)?.into_any(),
                None => py.None().into_bound(py),
            };
            raise(py, |t| &t.bad_event, message(py, &msg)?, &[("index", index), ("field", text(py, &field)), ("message", text(py, &detail))])
        }
        Error::Limit { limit, max, value, field, index } => {
            let index = match index {
                Some(i) => i.into_pyobject(py)?.into_any(),
                None => py.None().into_bound(py),
            };
            let attrs = [
                ("limit", text(py, limit)),
                ("max", max.into_pyobject(py)?.into_any()),
                ("value", value.into_pyobject(py)?.into_any()),
                ("field", text(py, &field)),
                ("index", index),
            ];
            raise(py, |t| &t.limit, message(py, &msg)?, &attrs)
        }
        Error::Storage { message: detail, source } => {
            // The source's text joins the message, so the cause is never lost.
            let (full, source) = match source {
                Some(source) => {
                    let source = source.to_string();
                    (format!("{msg}: {source}"), text(py, &source))
                }
                None => (msg, py.None().into_bound(py)),
            };
            raise(py, |t| &t.storage, message(py, &full)?, &[("message", text(py, &detail)), ("source", source)])
        }
        Error::Conflict { message: detail } => raise(py, |t| &t.conflict, message(py, &msg)?, &[("message", text(py, &detail))]),
        Error::Closed { what } => raise(py, |t| &t.closed, message(py, &msg)?, &[("what", text(py, what))]),
        Error::NotFound { what, id } => raise(py, |t| &t.not_found, message(py, &msg)?, &[("what", text(py, what)), ("id", text(py, &id))]),
        Error::Io { path, source } => {
            // As an OSError: (errno, strerror, filename) when the OS gave a number, so
            // `errno`, `strerror` and `filename` are set and the text is Python's usual.
            let args = match source.raw_os_error() {
                Some(errno) => {
                    let strerror = py.import("os")?.getattr("strerror")?.call1((errno,))?;
                    PyTuple::new(py, [errno.into_pyobject(py)?.into_any(), strerror, text(py, &path)])?
                }
                None => message(py, &msg)?,
            };
            raise(py, |t| &t.io, args, &[("path", text(py, &path))])
        }
        // The core's enum is non-exhaustive: a kind this binding has no class for yet
        // reaches Python as the root class, with its kind.
        other => raise(py, |t| &t.journey, message(py, &msg)?, &[("kind", text(py, other.kind()))]),
    }
}

/// A validation failure as `ValidationError`, its problems as data.
pub fn validation(py: Python<'_>, errors: ValidationErrors) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let msg = errors.to_string();
        let problems = PyList::empty(py);
        for problem in errors.problems {
            problems.append(PyProblem::from(problem))?;
        }
        raise(py, |t| &t.validation, message(py, &msg)?, &[("problems", problems.into_any())])
    };
    build().unwrap_or_else(|e| e)
}

/// A rating out of range as `EmotionError`.
pub fn emotion(py: Python<'_>, err: CoreEmotionError) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let attrs = [("scale", text(py, err.scale.as_str())), ("value", text(py, &err.value)), ("range", text(py, err.range))];
        raise(py, |t| &t.emotion, message(py, &err.to_string())?, &attrs)
    };
    build().unwrap_or_else(|e| e)
}

/// The `InternalError` of a caught panic, from its payload.
pub fn internal(payload: &(dyn std::any::Any + Send)) -> PyErr {
    let what = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    let full = format!("internal error in journey-core (please report it): {what}");
    Python::attach(|py| {
        let build = || raise(py, |t| &t.internal, message(py, &full)?, &[("message", text(py, what))]);
        build().unwrap_or_else(|e| e)
    })
}

/// Runs the body of an entry point, turning a Rust panic into `InternalError`.
///
/// The bodies only read through `&self` (mutable state is behind mutexes that recover
/// from poisoning), so nothing is observed half-updated after a panic.
pub fn guard<T>(body: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(payload) => Err(internal(&*payload)),
    }
}

/// Wraps entry points so that no panic crosses into Python: an `impl` block (with its
/// `#[pymethods]` attribute) or one function (with its `#[pyfunction]` attribute), written
/// inside `guarded! { ... }`. Every method or function then runs its body under [`guard`]
/// and returns a `PyResult` (a body returning `T` is wrapped in `Ok`, one returning
/// nothing returns `Ok(())`); attributes and doc comments are kept.
macro_rules! guarded {
    ($(#[$attr:meta])* impl $ty:ident { $($items:tt)* }) => {
        guarded!(@methods [$(#[$attr])* impl $ty] [] $($items)*);
    };
    (@methods [$($head:tt)*] [$($done:tt)*]) => { $($head)* { $($done)* } };
    (@methods [$($head:tt)*] [$($done:tt)*]
        $(#[$a:meta])* $v:vis fn $name:ident $(<$($lt:lifetime),*>)? ($($args:tt)*) -> PyResult<$t:ty> $body:block $($rest:tt)*) => {
        guarded!(@methods [$($head)*] [$($done)*
            $(#[$a])* $v fn $name $(<$($lt),*>)? ($($args)*) -> PyResult<$t> { $crate::error::guard(|| $body) }] $($rest)*);
    };
    (@methods [$($head:tt)*] [$($done:tt)*]
        $(#[$a:meta])* $v:vis fn $name:ident $(<$($lt:lifetime),*>)? ($($args:tt)*) -> $t:ty $body:block $($rest:tt)*) => {
        guarded!(@methods [$($head)*] [$($done)*
            $(#[$a])* $v fn $name $(<$($lt),*>)? ($($args)*) -> pyo3::PyResult<$t> { $crate::error::guard(|| { let value: $t = $body; Ok(value) }) }] $($rest)*);
    };
    (@methods [$($head:tt)*] [$($done:tt)*]
        $(#[$a:meta])* $v:vis fn $name:ident $(<$($lt:lifetime),*>)? ($($args:tt)*) $body:block $($rest:tt)*) => {
        guarded!(@methods [$($head)*] [$($done)*
            $(#[$a])* $v fn $name $(<$($lt),*>)? ($($args)*) -> pyo3::PyResult<()> { $crate::error::guard(|| { $body; Ok(()) }) }] $($rest)*);
    };
    // One function: the same rules, with no `impl` around it.
    ($(#[$a:meta])* $v:vis fn $name:ident $(<$($lt:lifetime),*>)? ($($args:tt)*) -> PyResult<$t:ty> $body:block) => {
        $(#[$a])* $v fn $name $(<$($lt),*>)? ($($args)*) -> PyResult<$t> { $crate::error::guard(|| $body) }
    };
    ($(#[$a:meta])* $v:vis fn $name:ident $(<$($lt:lifetime),*>)? ($($args:tt)*) -> $t:ty $body:block) => {
        $(#[$a])* $v fn $name $(<$($lt),*>)? ($($args)*) -> pyo3::PyResult<$t> { $crate::error::guard(|| { let value: $t = $body; Ok(value) }) }
    };
    ($(#[$a:meta])* $v:vis fn $name:ident $(<$($lt:lifetime),*>)? ($($args:tt)*) $body:block) => {
        $(#[$a])* $v fn $name $(<$($lt),*>)? ($($args)*) -> pyo3::PyResult<()> { $crate::error::guard(|| { $body; Ok(()) }) }
    };
}

/// Shorthand for results of core calls: `core_call().map_err(py_err)?`.
pub fn py_err(err: impl Into<Error>) -> PyErr {
    to_py_err(err.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(value: &Bound<'_, PyAny>, name: &str) -> String {
        value.getattr(name).and_then(|a| a.str()).map(|s| s.to_string()).unwrap_or_else(|e| format!("<{e}>"))
    }

    /// The tracker's error kinds reach Python as their classes, with their data (the
    /// Python tests provoke them through a real SQLite file too: tests/test_store.py).
    #[test]
    fn tracker_errors_map_to_their_classes() {
        Python::initialize();
        Python::attach(|py| {
            let classes = types(py).expect("the classes are created");
            let check = |err: Error, class: &Py<PyType>, text: &str, attrs: &[(&str, &str)]| {
                let err = to_py_err(err);
                let value = err.value(py);
                assert!(value.is_instance(class.bind(py)).unwrap_or(false), "{value:?}");
                assert!(value.is_instance(classes.journey.bind(py)).unwrap_or(false));
                assert_eq!(value.str().map(|s| s.to_string()).unwrap_or_default(), text);
                for (name, expected) in attrs {
                    assert_eq!(attr(value.as_any(), name), *expected, "{name}");
                }
            };
            check(
                Error::storage("cannot write the batch", std::io::Error::other("disk full")),
                &classes.storage,
                "storage: cannot write the batch: disk full",
                &[("message", "cannot write the batch"), ("source", "disk full"), ("kind", "storage")],
            );
            check(
                Error::Storage { message: "locked".into(), source: None },
                &classes.storage,
                "storage: locked",
                &[("source", "None")],
            );
            check(
                Error::BadEvent { index: Some(3), field: "keys[0]".into(), message: "bad key".into() },
                &classes.bad_event,
                "bad event at index 3: keys[0]: bad key",
                &[("index", "3"), ("field", "keys[0]"), ("message", "bad key"), ("kind", "bad_event")],
            );
            check(Error::Conflict { message: "not linked".into() }, &classes.conflict, "identity conflict: not linked", &[("message", "not linked")]);
            check(Error::Closed { what: "store" }, &classes.closed, "the store is closed", &[("what", "store"), ("kind", "closed")]);
        });
    }
}
