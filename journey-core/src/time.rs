//! Time: timestamps and durations in microseconds.
//!
//! Inside journey-core every instant is an integer number of microseconds since the Unix
//! epoch, UTC ([`Micros`]), and every duration a [`Duration`] in microseconds. In map
//! documents a duration is written as text (`"90s"`, `"15m"`, `"1h30m"`, `"7d"`, `"250ms"`)
//! or as a number of seconds.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Microseconds since the Unix epoch, UTC.
pub type Micros = i64;

/// A non-negative length of time, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(i64);

const UNITS: &[(&str, i64)] =
    &[("d", 86_400_000_000), ("h", 3_600_000_000), ("m", 60_000_000), ("s", 1_000_000), ("ms", 1_000), ("us", 1)];

impl Duration {
    /// A duration of `micros` microseconds; `None` if negative.
    pub fn from_micros(micros: i64) -> Option<Self> {
        (micros >= 0).then_some(Duration(micros))
    }

    /// A duration of whole seconds.
    pub fn from_secs(secs: u32) -> Self {
        Duration(secs as i64 * 1_000_000)
    }

    /// The length in microseconds.
    pub fn as_micros(self) -> i64 {
        self.0
    }

    /// Parses `"90s"`, `"15m"`, `"1h30m"`, `"7d"`, `"250ms"`, `"10us"` (units d, h, m, s, ms, us).
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("invalid duration {text:?}: expected a number of seconds or text such as \"90s\", \"15m\", \"1h30m\", \"7d\"");
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err(bad());
        }
        let mut total: i64 = 0;
        while !rest.is_empty() {
            let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
            if digits == 0 {
                return Err(bad());
            }
            let number: i64 = rest[..digits].parse().map_err(|_| bad())?;
            rest = &rest[digits..];
            let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
            let unit = &rest[..unit_len];
            let scale = UNITS.iter().find(|(name, _)| *name == unit).map(|(_, s)| *s).ok_or_else(bad)?;
            total = number.checked_mul(scale).and_then(|x| total.checked_add(x)).ok_or_else(bad)?;
            rest = &rest[unit_len..];
        }
        Ok(Duration(total))
    }
}

impl fmt::Display for Duration {
    /// The canonical text form: largest units first, e.g. `1h30m`; zero is `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.0;
        for (name, scale) in UNITS {
            if rest >= *scale {
                write!(f, "{}{}", rest / scale, name)?;
                rest %= scale;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Secs(u64),
            Text(String),
        }
        match Form::deserialize(deserializer).map_err(|_| {
            serde::de::Error::custom("expected a duration: a number of seconds or text such as \"90s\", \"15m\", \"1h30m\"")
        })? {
            Form::Secs(s) if s <= i64::MAX as u64 / 1_000_000 => Ok(Duration(s as i64 * 1_000_000)),
            Form::Secs(s) => Err(serde::de::Error::custom(format!("duration of {s} seconds is too long"))),
            Form::Text(t) => Duration::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A duration: whole seconds, or text with units d, h, m, s, ms, us (\"90s\", \"1h30m\").",
            "oneOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^([0-9]+(d|h|m|s|ms|us))+$"}
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_canonically() {
        assert_eq!(Duration::parse("90s").unwrap().as_micros(), 90_000_000);
        assert_eq!(Duration::parse("1h30m").unwrap().to_string(), "1h30m");
        assert_eq!(Duration::parse("90s").unwrap().to_string(), "1m30s");
        assert_eq!(Duration::parse("250ms").unwrap().as_micros(), 250_000);
        assert_eq!(Duration::parse("0s").unwrap().to_string(), "0s");
        for bad in ["", "s", "10", "10x", "1.5h", "-3s", "99999999999999999d"] {
            assert!(Duration::parse(bad).is_err(), "{bad}");
        }
        let d: Duration = serde_json::from_str("30").unwrap();
        assert_eq!(d, Duration::from_secs(30));
        assert!(serde_json::from_str::<Duration>("-1").is_err());
    }
}
