//! Lookup tables of the checkers' index: a fast hash map, and [`DenseMap`]
//! for the keys a trace numbers densely.
//!
//! The index maps every shipped event id and every batch number to its
//! position; at a million events a hash map of those is tens of megabytes
//! (about 34 bytes a key). But event ids are `node << 40 | seq` and batch
//! numbers count up per node: they come in dense runs, so a table of pages
//! of consecutive keys holds them in about 4 bytes a key, and still takes
//! any key (a sparse key costs one page of 1,024).
//!
//! Nothing here is iterated, so no output order depends on hashing.

use std::hash::{BuildHasherDefault, Hasher};

use crate::table::Table;

/// "No such item" in the u32 index arrays.
pub(crate) const NONE: u32 = u32::MAX;

/// A hash map for lookups only (never iterated), with a fast non-keyed hash:
/// the keys come from our own trace, not from an adversary.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The multiply-rotate hash of rustc's `FxHasher`.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.write_u64(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        for &byte in chunks.remainder() {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Keys per page: a page is 4 KiB of the values' table (mostly out of memory in a long run),
/// and the map that finds it holds one entry per 1,024 keys.
const PAGE_BITS: u32 = 10;
const PAGE: usize = 1 << PAGE_BITS;
const SLOT: u64 = PAGE as u64 - 1;

/// Texts numbered by first mention: each a `u32` where it is kept, its text once here.
#[derive(Default)]
pub(crate) struct Numbered {
    texts: Vec<shipsim_trace::Text>,
    numbers: FastMap<shipsim_trace::Text, u32>,
}

impl Numbered {
    /// The number of `text`, numbering it if new.
    pub(crate) fn number(&mut self, text: &shipsim_trace::Text) -> u32 {
        if let Some(&n) = self.numbers.get(text.as_str()) {
            return n;
        }
        let n = self.texts.len() as u32;
        self.texts.push(text.clone());
        self.numbers.insert(text.clone(), n);
        n
    }

    /// The text numbered `n`.
    pub(crate) fn text(&self, n: u32) -> &str {
        &self.texts[n as usize]
    }
}

/// A `u64 -> u32` map for keys in dense runs (values must not be [`NONE`]). Its pages of
/// values sit one after another in a [`Table`], which keeps only a few of them in memory.
#[derive(Default)]
pub(crate) struct DenseMap {
    /// Where each page's values start in `values`, by the page's first key.
    pages: FastMap<u64, usize>,
    values: Table<u32>,
}

impl DenseMap {
    /// The value of `key`, if it has one.
    pub(crate) fn get(&self, key: u64) -> Option<u32> {
        let start = *self.pages.get(&(key >> PAGE_BITS))?;
        let value = self.values.get(start + (key & SLOT) as usize);
        (value != NONE).then_some(value)
    }

    /// Sets `key` to `value`; returns the value it had.
    pub(crate) fn insert(&mut self, key: u64, value: u32) -> Option<u32> {
        debug_assert_ne!(value, NONE, "NONE marks an empty slot");
        let values = &mut self.values;
        let start = *self.pages.entry(key >> PAGE_BITS).or_insert_with(|| {
            let start = values.len();
            (0..PAGE).for_each(|_| values.push(NONE));
            start
        });
        let mut old = NONE;
        self.values.update(start + (key & SLOT) as usize, |slot| old = std::mem::replace(slot, value));
        (old != NONE).then_some(old)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_map_gets_what_was_inserted_at_any_key() {
        let mut map = DenseMap::default();
        let page = PAGE as u64;
        let keys = [0, 1, page - 1, page, page + 1, (2 << 40) | 7, u64::MAX, u64::MAX - 64];
        for (i, &key) in keys.iter().enumerate() {
            assert_eq!(map.get(key), None);
            assert_eq!(map.insert(key, i as u32), None);
        }
        for (i, &key) in keys.iter().enumerate() {
            assert_eq!(map.get(key), Some(i as u32), "key {key}");
        }
        assert_eq!(map.insert(page, 100), Some(3));
        assert_eq!(map.get(page), Some(100));
        assert_eq!(map.get(2), None, "a neighbour in a page is not set");
        assert_eq!(map.get(1 << 40), None);
        assert_eq!(map.pages.len(), 4, "pages are shared by neighbours");
    }

    #[test]
    fn texts_are_numbered_once_by_first_mention() {
        let mut numbered = Numbered::default();
        let (a, b) = (shipsim_trace::Text::from("a"), shipsim_trace::Text::from("b"));
        assert_eq!([numbered.number(&a), numbered.number(&b), numbered.number(&a)], [0, 1, 0]);
        assert_eq!((numbered.text(0), numbered.text(1)), ("a", "b"));
    }
}
