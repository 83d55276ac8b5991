//! A tracker's store options, converted: the JavaScript options object becomes the core's
//! [`StoreOptions`], which chooses the store (memory, a SQLite file with `path`, a
//! PostgreSQL schema with `postgres`) and checks which option goes with which store. Errors
//! are `E_PARSE` naming the option in its JavaScript spelling (`hashKinds`).

use std::time::Duration;

use journey_core::Error;
use journey_core::store::{StoreChoice, StoreOptions};

use crate::tracker::JsTrackerOptions;

/// The JavaScript name of a canonical store option (`hash_kinds` -> `hashKinds`).
fn js_name(name: &'static str) -> String {
    match name {
        "busy_timeout" => "busyTimeoutMs".into(),
        "connect_timeout" => "connectTimeoutMs".into(),
        "pool_wait" => "poolWaitMs".into(),
        _ => {
            let mut out = String::with_capacity(name.len());
            let mut upper = false;
            for c in name.chars() {
                if c == '_' {
                    upper = true;
                } else {
                    out.push(if upper { c.to_ascii_uppercase() } else { c });
                    upper = false;
                }
            }
            out
        }
    }
}

/// The store the options ask for (see [`StoreOptions::choose`] for the rules). A number
/// option must be a whole number (`E_PARSE` naming it otherwise).
pub(crate) fn backend(o: &JsTrackerOptions) -> Result<StoreChoice, Error> {
    let whole = |option: &'static str, x: Option<f64>| x.map(|x| whole(option, x)).transpose();
    let options = StoreOptions {
        path: o.path.clone().map(Into::into),
        postgres: o.postgres.clone(),
        hash_secret: o.hash_secret.clone().map(String::into_bytes),
        hash_kinds: o.hash_kinds.clone(),
        durability: o.durability.clone(),
        read_only: o.read_only,
        max_size: whole("max_size", o.max_size)?,
        busy_timeout: whole("busy_timeout", o.busy_timeout_ms)?.map(Duration::from_millis),
        checkpoint_bytes: whole("checkpoint_bytes", o.checkpoint_bytes)?,
        cache_mib: whole("cache_mib", o.cache_mib)?.map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        schema: o.schema.clone(),
        pool_size: whole("pool_size", o.pool_size)?.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        connect_timeout: whole("connect_timeout", o.connect_timeout_ms)?.map(Duration::from_millis),
        pool_wait: whole("pool_wait", o.pool_wait_ms)?.map(Duration::from_millis),
        attempts: whole("attempts", o.attempts)?.map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        fetch_size: whole("fetch_size", o.fetch_size)?.map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        cache_entries: whole("cache_entries", o.cache_entries)?.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
    };
    options.choose(&js_name)
}

/// A whole, non-negative number within `Number.MAX_SAFE_INTEGER`, or `E_PARSE` naming
/// the option.
fn whole(option: &'static str, x: f64) -> Result<u64, Error> {
    if x.is_finite() && x.fract() == 0.0 && (0.0..=9_007_199_254_740_991.0).contains(&x) {
        Ok(x as u64)
    } else {
        Err(Error::parse(js_name(option), format!("{x} is not a whole number of at least 0")))
    }
}
