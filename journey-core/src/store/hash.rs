//! Keyed hashing of identity values, so raw e-mails and phone numbers never reach a file.

use std::borrow::Cow;
use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::identity::IdentityKey;

/// The prefix of a hashed value: `email:hmac:3f1c…` (64 hex digits follow).
pub const HASHED_PREFIX: &str = "hmac:";

/// Replaces the value of identity keys by its HMAC-SHA-256 under a secret the host
/// supplies: `email:ana@example.com` is stored as `email:hmac:<64 hex digits>`. The kind
/// stays readable (identity levels and limits work on it); the value cannot be recovered,
/// and lookups by the raw key still work because the store hashes every key it is given.
///
/// A key whose value already is `hmac:` followed by 64 lowercase hex digits is taken as
/// hashed and kept as it is, so keys read back from the store can be passed in again.
/// Keep the secret: without it, nothing stored can be found by raw key any more.
#[derive(Clone)]
pub struct KeyHasher {
    mac: Hmac<Sha256>,
    kinds: Option<Vec<String>>,
}

impl fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyHasher").field("kinds", &self.kinds).finish_non_exhaustive()
    }
}

impl KeyHasher {
    /// Hashes the values of every key kind with this secret (at least 16 bytes is wise).
    pub fn new(secret: &[u8]) -> Self {
        KeyHasher { mac: Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length"), kinds: None }
    }

    /// Hashes only these kinds (e.g. `["email", "phone"]`); other keys are stored as given.
    pub fn only<I: IntoIterator<Item = S>, S: Into<String>>(mut self, kinds: I) -> Self {
        self.kinds = Some(kinds.into_iter().map(Into::into).collect());
        self
    }

    /// Whether keys of this kind are hashed.
    pub fn hashes(&self, kind: &str) -> bool {
        self.kinds.as_ref().is_none_or(|k| k.iter().any(|x| x == kind))
    }

    /// Whether a value is already in hashed form.
    pub fn is_hashed(value: &str) -> bool {
        value.strip_prefix(HASHED_PREFIX).is_some_and(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
    }

    /// The stored form of a key.
    pub fn key<'a>(&self, key: &'a IdentityKey) -> Cow<'a, IdentityKey> {
        if !self.hashes(key.kind()) || Self::is_hashed(key.value()) {
            return Cow::Borrowed(key);
        }
        let mut mac = self.mac.clone();
        mac.update(key.kind().as_bytes());
        mac.update(b":");
        mac.update(key.value().as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut text = String::with_capacity(key.kind().len() + 1 + HASHED_PREFIX.len() + 64);
        text.push_str(key.kind());
        text.push(':');
        text.push_str(HASHED_PREFIX);
        for b in digest {
            text.push(char::from(b"0123456789abcdef"[(b >> 4) as usize]));
            text.push(char::from(b"0123456789abcdef"[(b & 15) as usize]));
        }
        Cow::Owned(IdentityKey::parse(&text).expect("a hashed key is a valid key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_values_keeps_kinds_and_is_idempotent() {
        let h = KeyHasher::new(b"0123456789abcdef").only(["email"]);
        let raw = IdentityKey::parse("email:ana@example.com").unwrap();
        let hashed = h.key(&raw).into_owned();
        assert_eq!(hashed.kind(), "email");
        assert!(KeyHasher::is_hashed(hashed.value()), "{hashed}");
        assert!(!hashed.as_str().contains("ana"));
        assert_eq!(h.key(&hashed).as_ref(), &hashed, "hashing twice changes nothing");
        let session = IdentityKey::parse("session:abc").unwrap();
        assert_eq!(h.key(&session).as_ref(), &session, "kinds not listed are kept");
        let other = KeyHasher::new(b"another secret!!").key(&raw).into_owned();
        assert_ne!(other, hashed, "the secret matters");
    }
}
