//! Emotion ratings on the normalised scale.

use journey_core::Rating;
use pyo3::prelude::*;

use crate::convert;
use crate::error::py_err;

guarded! {
/// Converts an emotion rating to the normalised scale ``[-1, 1]``.
///
/// Maps plan emotions as labels; surveys measure them as CSAT 1-5, NPS 0-10 or raw
/// scores. The conversion is exact: labels ``negative`` / ``neutral`` / ``positive`` give
/// -1 / 0 / 1, CSAT ``(x - 3) / 2``, NPS ``(x - 5) / 5``, scores are already normalised.
///
/// Args:
///     value: The rating: a number, or for ``label`` a label's name (the numbers -1, 0
///         and 1 are accepted too).
///     scale: ``"label"``, ``"csat"``, ``"nps"`` or ``"score"``.
///
/// Returns:
///     The normalised emotion, a float in ``[-1, 1]``.
///
/// Raises:
///     EmotionError: The value is outside the scale's range or of the wrong form, e.g.
///         CSAT 6 or 3.5. Out-of-range values are never clamped.
///     ParseError: The scale is unknown.
#[pyfunction]
#[pyo3(signature = (value, scale = "score"))]
pub fn normalize_emotion(value: &Bound<'_, PyAny>, scale: &str) -> PyResult<f64> {
    let value = convert::from_py(value, "value")?;
    let rating = Rating::from_json(scale, &value).map_err(py_err)?;
    rating.normalize().map(|e| e.value()).map_err(py_err)
}
}
