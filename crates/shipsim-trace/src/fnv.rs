//! FNV-1a, 64 bits: the one hash of the trace crate, for a whole trace ([`crate::digest`]) and
//! for a payload ([`crate::PayloadDigest`]). Defined byte by byte, so stable across
//! platforms, Rust versions and runs, unlike std's hasher.

/// FNV-1a's offset basis: the hash of no bytes.
pub(crate) const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// `hash` (of the bytes before) continued over `bytes`.
pub(crate) fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}
