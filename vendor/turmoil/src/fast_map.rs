//! shipsim patch: the hash of turmoil's maps keyed by address, host port, socket pair or link.
//!
//! Every step looks up each host by address several times (its runtime in `Sim`, its state in
//! `World`, its ready links and deliverable messages in `Topology`), and every segment looks up
//! its socket by address pair. With the standard library's SipHash those lookups were about 6% of
//! a 64-host run. These keys come from the simulation itself, not from an adversary, so FNV-1a
//! is enough. The maps stay `IndexMap`s: they iterate in insertion order, whatever the hash.

use std::hash::{BuildHasherDefault, Hasher};

use indexmap::IndexMap;

/// An `IndexMap` with [`FnvHasher`]: the same insertion-ordered iteration, cheaper lookups.
pub(crate) type FastMap<K, V> = IndexMap<K, V, BuildHasherDefault<FnvHasher>>;

/// FNV-1a over the bytes a key hashes.
pub(crate) struct FnvHasher(u64);

impl Default for FnvHasher {
    fn default() -> Self {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for FnvHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
