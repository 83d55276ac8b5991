//! Emotion ratings on the normalised scale `[-1, 1]`.

use journey_core::Rating;
use napi::bindgen_prelude::Unknown;
use napi::{Env, Result, ValueType};
use napi_derive::napi;
use serde_json::Value;

use crate::error::guard;

/// Converts a rating to the normalised scale `[-1, 1]`: `label` (`negative` -1,
/// `neutral` 0, `positive` +1), `csat` 1..5 (`(x - 3) / 2`), `nps` 0..10 (`(x - 5) / 5`),
/// `score` (already in `[-1, 1]`, the default scale).
///
/// @throws {Error} `E_EMOTION` with `scale` and `value` when the rating is outside its
/// scale or of the wrong type (never clamped), `E_PARSE` with `path` `"scale"` for an
/// unknown scale.
#[napi(catch_unwind)]
pub fn normalize_emotion(
    env: &Env,
    #[napi(ts_arg_type = "number | string")] value: Unknown<'_>,
    #[napi(ts_arg_type = "'label' | 'csat' | 'nps' | 'score'")] scale: Option<String>,
) -> Result<f64> {
    let value = json_value(env, value)?;
    guard(env, || {
        let rating = Rating::from_json(scale.as_deref().unwrap_or("score"), &value)?;
        Ok(rating.normalize()?.value())
    })
}

/// Any JavaScript value as JSON, so that the core judges every input: a non-finite number
/// (which JSON cannot hold) becomes its text, `undefined` becomes `null`.
fn json_value(env: &Env, value: Unknown<'_>) -> Result<Value> {
    match value.get_type()? {
        ValueType::Number => {
            // SAFETY: the value was just checked to be a number.
            let x: f64 = unsafe { value.cast()? };
            Ok(serde_json::Number::from_f64(x).map_or_else(|| Value::String(x.to_string()), Value::Number))
        }
        ValueType::Undefined => Ok(Value::Null),
        _ => env.from_js_value(value),
    }
}
