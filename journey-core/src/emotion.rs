//! Emotion ratings on one normalised scale.
//!
//! Maps plan emotions as labels (negative / neutral / positive); surveys measure them as
//! CSAT 1-5, NPS 0-10 or raw scores. Every [`Rating`] keeps the scale it was given in (so
//! saving a map writes back exactly what was read) and converts exactly to an [`Emotion`],
//! a number in `[-1, 1]`:
//!
//! | scale | normalised |
//! |---|---|
//! | label | negative -1, neutral 0, positive +1 |
//! | CSAT 1..=5 | `(x - 3) / 2` |
//! | NPS 0..=10 | `(x - 5) / 5` |
//! | score | already in `[-1, 1]` |
//!
//! Out-of-range input is an [`EmotionError`], never clamped.
//!
//! ```
//! use journey_core::emotion::{Emotion, Rating};
//! assert_eq!(Rating::Csat(4).normalize().unwrap(), Emotion::new(0.5).unwrap());
//! assert_eq!(Rating::Nps(10).normalize().unwrap().value(), 1.0);
//! assert!(Rating::Csat(6).normalize().is_err());
//! ```

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// An emotion on the normalised scale: a finite number in `[-1, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Emotion(f64);

impl Emotion {
    /// The most negative emotion, `-1`.
    pub const NEGATIVE: Emotion = Emotion(-1.0);
    /// A neutral emotion, `0`.
    pub const NEUTRAL: Emotion = Emotion(0.0);
    /// The most positive emotion, `+1`.
    pub const POSITIVE: Emotion = Emotion(1.0);

    /// Checks that `value` is a finite number in `[-1, 1]`.
    pub fn new(value: f64) -> Result<Self, EmotionError> {
        if value.is_finite() && (-1.0..=1.0).contains(&value) {
            Ok(Emotion(value))
        } else {
            Err(EmotionError { scale: Scale::Score, value: value.to_string(), range: Scale::Score.range() })
        }
    }

    /// The normalised value in `[-1, 1]`.
    pub fn value(self) -> f64 {
        self.0
    }

    /// The label this emotion falls under: below `-1/3` negative, above `1/3` positive.
    pub fn label(self) -> EmotionLabel {
        if self.0 < -1.0 / 3.0 {
            EmotionLabel::Negative
        } else if self.0 > 1.0 / 3.0 {
            EmotionLabel::Positive
        } else {
            EmotionLabel::Neutral
        }
    }

    /// The CSAT score (1-5) this emotion is exactly equal to, if any.
    pub fn to_csat(self) -> Option<u8> {
        let x = self.0 * 2.0 + 3.0;
        (x.fract() == 0.0).then_some(x as u8)
    }

    /// The NPS score (0-10) this emotion is exactly equal to, if any.
    pub fn to_nps(self) -> Option<u8> {
        let x = self.0 * 5.0 + 5.0;
        let r = x.round();
        ((x - r).abs() < 1e-9 && Rating::Nps(r as i64).normalize().ok() == Some(self)).then_some(r as u8)
    }
}

impl fmt::Display for Emotion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The three planned-emotion labels of a journey map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmotionLabel {
    /// -1 on the normalised scale.
    Negative,
    /// 0 on the normalised scale.
    Neutral,
    /// +1 on the normalised scale.
    Positive,
}

impl EmotionLabel {
    /// The label's name as written in maps and events.
    pub fn as_str(self) -> &'static str {
        match self {
            EmotionLabel::Negative => "negative",
            EmotionLabel::Neutral => "neutral",
            EmotionLabel::Positive => "positive",
        }
    }

    /// Parses `negative`, `neutral` or `positive`.
    pub fn parse(text: &str) -> Result<Self, EmotionError> {
        match text {
            "negative" => Ok(EmotionLabel::Negative),
            "neutral" => Ok(EmotionLabel::Neutral),
            "positive" => Ok(EmotionLabel::Positive),
            _ => Err(EmotionError { scale: Scale::Label, value: format!("{text:?}"), range: Scale::Label.range() }),
        }
    }
}

/// The scale a rating was given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// negative / neutral / positive.
    Label,
    /// Customer satisfaction, integers 1 to 5.
    Csat,
    /// Net promoter score, integers 0 to 10.
    Nps,
    /// A raw score already on the normalised scale `[-1, 1]`.
    Score,
}

impl Scale {
    /// The scale's name (`label`, `csat`, `nps`, `score`).
    pub fn as_str(self) -> &'static str {
        match self {
            Scale::Label => "label",
            Scale::Csat => "csat",
            Scale::Nps => "nps",
            Scale::Score => "score",
        }
    }

    /// Parses a scale's name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "label" => Some(Scale::Label),
            "csat" => Some(Scale::Csat),
            "nps" => Some(Scale::Nps),
            "score" => Some(Scale::Score),
            _ => None,
        }
    }

    /// The accepted range, in words.
    pub fn range(self) -> &'static str {
        match self {
            Scale::Label => "one of negative, neutral, positive",
            Scale::Csat => "an integer from 1 to 5",
            Scale::Nps => "an integer from 0 to 10",
            Scale::Score => "a number from -1 to 1",
        }
    }
}

/// A rating outside its scale's range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{scale} rating {value} is out of range: expected {range}", scale = scale.as_str())]
pub struct EmotionError {
    /// The scale of the rejected rating.
    pub scale: Scale,
    /// The rejected value, as text.
    pub value: String,
    /// The accepted range, in words.
    pub range: &'static str,
}

/// A rating in the scale it was given in.
///
/// In JSON a rating is a label string (`"positive"`), a number (a raw score in `[-1, 1]`),
/// or an object naming its scale: `{"csat": 4}`, `{"nps": 9}`, `{"score": 0.5}`.
/// Any value is accepted when parsing so that validation can report every problem with its
/// path; [`Rating::normalize`] checks the range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rating {
    /// A planned label.
    Label(EmotionLabel),
    /// A CSAT score, valid from 1 to 5.
    Csat(i64),
    /// An NPS score, valid from 0 to 10.
    Nps(i64),
    /// A raw score, valid from -1 to 1.
    Score(f64),
}

impl Rating {
    /// Builds a rating from a scale and a number (labels: -1, 0, 1).
    pub fn from_scale(scale: Scale, value: f64) -> Result<Self, EmotionError> {
        let err = || EmotionError { scale, value: value.to_string(), range: scale.range() };
        let integer = || if value.fract() == 0.0 && value.is_finite() { Ok(value as i64) } else { Err(err()) };
        let rating = match scale {
            Scale::Label => Rating::Label(match integer()? {
                -1 => EmotionLabel::Negative,
                0 => EmotionLabel::Neutral,
                1 => EmotionLabel::Positive,
                _ => return Err(err()),
            }),
            Scale::Csat => Rating::Csat(integer()?),
            Scale::Nps => Rating::Nps(integer()?),
            Scale::Score => Rating::Score(value),
        };
        rating.normalize()?;
        Ok(rating)
    }

    /// Builds a rating from a scale's name and a value: a label's name for `label`
    /// (numbers -1, 0, 1 are accepted too), a number for the others. This is what the
    /// bindings call with their native values.
    pub fn from_json(scale: &str, value: &serde_json::Value) -> Result<Self, crate::Error> {
        let scale = Scale::parse(scale)
            .ok_or_else(|| crate::Error::parse("scale", format!("unknown scale {scale:?}: expected label, csat, nps or score")))?;
        match (scale, value) {
            (Scale::Label, serde_json::Value::String(text)) => Ok(Rating::Label(EmotionLabel::parse(text)?)),
            (_, serde_json::Value::Number(n)) => Ok(Rating::from_scale(scale, n.as_f64().unwrap_or(f64::NAN))?),
            (_, other) => Err(EmotionError { scale, value: other.to_string(), range: scale.range() }.into()),
        }
    }

    /// The scale this rating was given in.
    pub fn scale(&self) -> Scale {
        match self {
            Rating::Label(_) => Scale::Label,
            Rating::Csat(_) => Scale::Csat,
            Rating::Nps(_) => Scale::Nps,
            Rating::Score(_) => Scale::Score,
        }
    }

    /// Converts to the normalised scale, or says why the rating is out of range.
    pub fn normalize(&self) -> Result<Emotion, EmotionError> {
        let out_of_range = |value: String| EmotionError { scale: self.scale(), value, range: self.scale().range() };
        match *self {
            Rating::Label(EmotionLabel::Negative) => Ok(Emotion::NEGATIVE),
            Rating::Label(EmotionLabel::Neutral) => Ok(Emotion::NEUTRAL),
            Rating::Label(EmotionLabel::Positive) => Ok(Emotion::POSITIVE),
            Rating::Csat(x) if (1..=5).contains(&x) => Ok(Emotion((x as f64 - 3.0) / 2.0)),
            Rating::Nps(x) if (0..=10).contains(&x) => Ok(Emotion((x as f64 - 5.0) / 5.0)),
            Rating::Csat(x) | Rating::Nps(x) => Err(out_of_range(x.to_string())),
            Rating::Score(x) => Emotion::new(x).map_err(|_| out_of_range(x.to_string())),
        }
    }
}

impl From<EmotionLabel> for Rating {
    fn from(label: EmotionLabel) -> Self {
        Rating::Label(label)
    }
}

impl Serialize for Rating {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            Rating::Label(label) => serializer.serialize_str(label.as_str()),
            Rating::Score(x) => serializer.serialize_f64(x),
            Rating::Csat(x) | Rating::Nps(x) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry(self.scale().as_str(), &x)?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Rating {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RatingVisitor;
        const EXPECTED: &str = "a label (\"negative\", \"neutral\", \"positive\"), a score in [-1, 1], or {\"csat\": 1..5} / {\"nps\": 0..10} / {\"score\": -1..1}";

        impl<'de> Visitor<'de> for RatingVisitor {
            type Value = Rating;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Rating, E> {
                EmotionLabel::parse(v).map(Rating::Label).map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Rating, E> {
                Ok(Rating::Score(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Rating, E> {
                Ok(Rating::Score(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Rating, E> {
                Ok(Rating::Score(v as f64))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Rating, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(de::Error::invalid_length(0, &self));
                };
                let rating = match Scale::parse(&key) {
                    Some(Scale::Csat) => Rating::Csat(integer(map.next_value::<f64>()?)?),
                    Some(Scale::Nps) => Rating::Nps(integer(map.next_value::<f64>()?)?),
                    Some(Scale::Score) => Rating::Score(map.next_value()?),
                    Some(Scale::Label) => Rating::Label(map.next_value()?),
                    None => return Err(de::Error::unknown_field(&key, &["csat", "nps", "score", "label"])),
                };
                if let Some(extra) = map.next_key::<String>()? {
                    return Err(de::Error::custom(format!("a rating has one scale, found a second key `{extra}`")));
                }
                Ok(rating)
            }
        }

        fn integer<E: de::Error>(x: f64) -> Result<i64, E> {
            if x.fract() == 0.0 && x.abs() < 1e15 {
                Ok(x as i64)
            } else {
                Err(E::custom(format!("expected an integer rating, found {x}")))
            }
        }

        deserializer.deserialize_any(RatingVisitor)
    }
}

impl JsonSchema for Rating {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Rating".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An emotion rating: a label, a raw score in [-1, 1], or an object naming its scale.",
            "oneOf": [
                {"type": "string", "enum": ["negative", "neutral", "positive"]},
                {"type": "number", "minimum": -1, "maximum": 1},
                {"type": "object", "properties": {"csat": {"type": "integer", "minimum": 1, "maximum": 5}}, "required": ["csat"], "additionalProperties": false},
                {"type": "object", "properties": {"nps": {"type": "integer", "minimum": 0, "maximum": 10}}, "required": ["nps"], "additionalProperties": false},
                {"type": "object", "properties": {"score": {"type": "number", "minimum": -1, "maximum": 1}}, "required": ["score"], "additionalProperties": false}
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_of_every_scale() {
        assert_eq!(Rating::Csat(1).normalize().unwrap().value(), -1.0);
        assert_eq!(Rating::Csat(5).normalize().unwrap().value(), 1.0);
        assert!(Rating::Csat(0).normalize().is_err());
        assert!(Rating::Csat(6).normalize().is_err());
        assert_eq!(Rating::Nps(0).normalize().unwrap().value(), -1.0);
        assert_eq!(Rating::Nps(10).normalize().unwrap().value(), 1.0);
        assert!(Rating::Nps(-1).normalize().is_err());
        assert!(Rating::Nps(11).normalize().is_err());
        assert_eq!(Rating::Score(-1.0).normalize().unwrap().value(), -1.0);
        assert!(Rating::Score(1.000001).normalize().is_err());
        assert!(Rating::Score(f64::NAN).normalize().is_err());
        assert!(Emotion::new(f64::INFINITY).is_err());
    }

    #[test]
    fn conversions_are_lossless() {
        for x in 1..=5 {
            assert_eq!(Rating::Csat(x).normalize().unwrap().to_csat(), Some(x as u8));
        }
        for x in 0..=10 {
            assert_eq!(Rating::Nps(x).normalize().unwrap().to_nps(), Some(x as u8));
        }
        for label in [EmotionLabel::Negative, EmotionLabel::Neutral, EmotionLabel::Positive] {
            assert_eq!(Rating::Label(label).normalize().unwrap().label(), label);
        }
        assert_eq!(Emotion::new(0.3).unwrap().to_csat(), None);
    }

    #[test]
    fn error_names_scale_value_and_range() {
        let e = Rating::Csat(7).normalize().unwrap_err();
        assert_eq!(e.to_string(), "csat rating 7 is out of range: expected an integer from 1 to 5");
        assert!(Rating::from_scale(Scale::Nps, 3.5).is_err());
        assert_eq!(Rating::from_scale(Scale::Label, -1.0).unwrap(), Rating::Label(EmotionLabel::Negative));
    }

    #[test]
    fn json_forms_round_trip() {
        for text in ["\"positive\"", "0.5", "{\"csat\":4}", "{\"nps\":9}", "-1.0"] {
            let r: Rating = serde_json::from_str(text).unwrap();
            let back = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<Rating>(&back).unwrap(), r, "{text}");
        }
        assert!(serde_json::from_str::<Rating>("\"happy\"").is_err());
        assert!(serde_json::from_str::<Rating>("{\"stars\":4}").is_err());
        assert!(serde_json::from_str::<Rating>("{\"csat\":4.5}").is_err());
    }
}
