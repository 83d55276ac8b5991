//! The exception tree, rooted at `JourneyError`, and the exhaustive mapping of the core's
//! [`journey_core::Error`] onto it.
//!
//! Each exception carries the data of the failure as attributes (`path`, `problems`,
//! `scale`...) and a class attribute `kind`, the core's stable kind name, so callers
//! handle errors as data rather than by parsing messages.
//!
//! The classes are created when the module is initialised, with the `type()` call that
//! `PyErr_NewException` itself uses, because two of them have two bases
//! (`EmotionError` is also a `ValueError`, `JourneyIOError` also an `OSError`), which
//! `create_exception!` cannot express.

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
        ``emotion``, ``not_found`` or ``io`` (and, for errors of kinds this version
        of the binding has no class for yet, their core name).";

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

/// The exception classes, created once per process.
pub struct ExceptionTypes {
    pub journey: Py<PyType>,
    pub parse: Py<PyType>,
    pub validation: Py<PyType>,
    pub emotion: Py<PyType>,
    pub not_found: Py<PyType>,
    pub io: Py<PyType>,
}

static TYPES: PyOnceLock<ExceptionTypes> = PyOnceLock::new();

impl ExceptionTypes {
    /// The classes with their Python names, for the module to export.
    pub fn named(&self) -> [(&'static str, &Py<PyType>); 6] {
        [
            ("JourneyError", &self.journey),
            ("ParseError", &self.parse),
            ("ValidationError", &self.validation),
            ("EmotionError", &self.emotion),
            ("NotFoundError", &self.not_found),
            ("JourneyIOError", &self.io),
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
            not_found: new_type(py, "NotFoundError", NOT_FOUND_ERROR, "not_found", &[root])?,
            io: new_type(py, "JourneyIOError", IO_ERROR, "io", &[root, &py.get_type::<PyOSError>()])?,
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
        // The core's enum is non-exhaustive (and grows with the tracker and stores): a kind
        // this binding has no class for yet reaches Python as the root class, with its kind.
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

/// Shorthand for results of core calls: `core_call().map_err(py_err)?`.
pub fn py_err(err: impl Into<Error>) -> PyErr {
    to_py_err(err.into())
}
