//! [`PayloadDigest`]: how a `deliver` record names the bytes it was handed without
//! repeating them. The payload is in the trace once, in its `ship-begin`; the delivery
//! carries the digest of what arrived, and the delivery checker compares the two digests.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::fnv;

/// The 64-bit FNV-1a digest of a payload's bytes (the same function as [`crate::digest`],
/// which names a whole trace): defined byte by byte, so identical on every platform, build
/// and run, and computable by any other system writing a trace. Written as 16 lowercase
/// hex digits (a JSON number would lose bits in readers that parse numbers as doubles).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PayloadDigest(pub u64);

impl PayloadDigest {
    /// The digest of `payload`.
    pub fn of(payload: &[u8]) -> Self {
        PayloadDigest(fnv::fnv1a(fnv::OFFSET, payload))
    }
}

impl fmt::Display for PayloadDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for PayloadDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PayloadDigest({self})")
    }
}

impl Serialize for PayloadDigest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PayloadDigest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        if text.len() != 16 {
            return Err(serde::de::Error::custom(format!("a payload digest is 16 hex digits, not `{text}`")));
        }
        u64::from_str_radix(&text, 16)
            .map(PayloadDigest)
            .map_err(|_| serde::de::Error::custom(format!("a payload digest is 16 hex digits, not `{text}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_fnv1a_and_reads_back() {
        // FNV-1a's published test vectors: the empty input and "a".
        assert_eq!(PayloadDigest::of(b""), PayloadDigest(0xcbf2_9ce4_8422_2325));
        assert_eq!(PayloadDigest::of(b"a"), PayloadDigest(0xaf63_dc4c_8601_ec8c));
        let d = PayloadDigest::of(br#"{"id":7}"#);
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json.len(), 18, "{json}");
        assert_eq!(serde_json::from_str::<PayloadDigest>(&json).unwrap(), d);
        assert!(serde_json::from_str::<PayloadDigest>("\"abc\"").unwrap_err().to_string().contains("16 hex"));
        assert!(serde_json::from_str::<PayloadDigest>("\"zzzzzzzzzzzzzzzz\"").is_err());
    }
}
