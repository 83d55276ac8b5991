//! Small helpers every partial state uses to merge and to check its shape, so a state read
//! from bytes that does not fit the map or its options gives an error naming the field, never
//! a panic.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// The error of a partial state that does not fit: `path` names the field.
pub(crate) fn bad(path: &str, message: impl Into<String>) -> Error {
    Error::parse(format!("partial.{path}"), message)
}

/// Checks that a column of a partial state has `want` entries.
pub(crate) fn expect_len<T>(v: &[T], want: usize, path: &str) -> Result<()> {
    if v.len() == want { Ok(()) } else { Err(bad(path, format!("expected {want} entries, found {}", v.len()))) }
}

/// Adds `b` to `a` element-wise; both must have the same length.
pub(crate) fn add_counts(a: &mut [u64], b: &[u64], path: &str) -> Result<()> {
    expect_len(b, a.len(), path)?;
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
    Ok(())
}

/// Adds the counts of `b` into `a`, key by key.
pub(crate) fn add_map<K: Ord + Clone>(a: &mut BTreeMap<K, u64>, b: &BTreeMap<K, u64>) {
    for (k, v) in b {
        *a.entry(k.clone()).or_default() += v;
    }
}

/// Merges labelled groups: a group of `b` is merged into `a`'s group of the same label, or
/// appended when `a` has none.
pub(crate) fn merge_groups<T>(a: &mut Vec<(Option<String>, T)>, b: &[(Option<String>, T)], merge: impl Fn(&mut T, &T) -> Result<()>) -> Result<()>
where
    T: Clone,
{
    for (label, g) in b {
        match a.iter_mut().find(|(l, _)| l == label) {
            Some((_, mine)) => merge(mine, g)?,
            None => a.push((label.clone(), g.clone())),
        }
    }
    Ok(())
}
