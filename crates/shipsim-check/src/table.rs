//! [`Table`]: the index's per-event lists, in pages, with only a few pages in memory.
//!
//! Checking exactly-once delivery needs every event's history to the end of the run: any
//! event may be delivered again later (a duplicate), and that delivery is judged against its
//! shipment, its ack and its first delivery. So the index grows with the run, about 160
//! bytes per event (docs/benchmarks.md, memory), and a ten-million-event soak would hold
//! more than a gigabyte. A `Table` holds its entries in pages of [`PAGE`] entries and keeps
//! at most [`RESIDENT`] of them in memory; the others wait in an unlinked temporary file,
//! encoded with [`Fixed`], and are read back when an entry of theirs is asked for. The
//! index is written in trace order and read in trace order, with lookups near the entry
//! being read (a delivery's shipment, an ack's batch), so a few resident pages serve nearly
//! every access and the operating system's page cache the rest. A table that fits in its
//! resident pages is one plain vector, so a run small enough (most of them: under 65,536
//! entries per list) pays a branch per access and never makes the file.
//!
//! If the temporary file cannot be made or written, the pages stay in memory: the run
//! costs more memory, never a wrong verdict.

use std::cell::RefCell;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicU64, Ordering};

/// Entries per page: 1024, and 4 in this crate's own tests, so that every checker's tests
/// read their index back from the file.
const PAGE_BITS: usize = if cfg!(test) { 2 } else { 10 };
const PAGE: usize = 1 << PAGE_BITS;
/// Pages a table keeps in memory: 64 pages of the largest entry (a batch, 75 bytes) are
/// 4.7 MiB. One in this crate's own tests.
const RESIDENT: usize = if cfg!(test) { 1 } else { 64 };

/// An entry of a fixed encoded size, so that page `p` sits at a known place in the file.
pub(crate) trait Fixed: Copy {
    /// Bytes of one encoded entry.
    const BYTES: usize;
    /// Appends the entry's [`Fixed::BYTES`] bytes.
    fn put(&self, out: &mut Vec<u8>);
    /// Reads one entry from the front of `bytes`, advancing it.
    fn take(bytes: &mut &[u8]) -> Self;
}

/// Reads a little-endian `u64` from the front of `bytes`.
fn take_u64(bytes: &mut &[u8]) -> u64 {
    let (head, rest) = bytes.split_at(8);
    *bytes = rest;
    u64::from_le_bytes(head.try_into().expect("8 bytes"))
}

/// Reads a little-endian `u32` from the front of `bytes`.
fn take_u32(bytes: &mut &[u8]) -> u32 {
    let (head, rest) = bytes.split_at(4);
    *bytes = rest;
    u32::from_le_bytes(head.try_into().expect("4 bytes"))
}

/// Reads a byte from the front of `bytes`.
pub(crate) fn take_u8(bytes: &mut &[u8]) -> u8 {
    let (head, rest) = bytes.split_at(1);
    *bytes = rest;
    head[0]
}

impl Fixed for u32 {
    const BYTES: usize = 4;
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn take(bytes: &mut &[u8]) -> Self {
        take_u32(bytes)
    }
}

impl Fixed for usize {
    const BYTES: usize = u64::BYTES;
    fn put(&self, out: &mut Vec<u8>) {
        (*self as u64).put(out);
    }
    fn take(bytes: &mut &[u8]) -> Self {
        u64::take(bytes) as usize
    }
}

impl Fixed for u64 {
    const BYTES: usize = 8;
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn take(bytes: &mut &[u8]) -> Self {
        take_u64(bytes)
    }
}

/// A tag byte, then the entry, or as many zero bytes.
impl<T: Fixed> Fixed for Option<T> {
    const BYTES: usize = 1 + T::BYTES;
    fn put(&self, out: &mut Vec<u8>) {
        out.push(u8::from(self.is_some()));
        match self {
            Some(entry) => entry.put(out),
            None => out.resize(out.len() + T::BYTES, 0),
        }
    }
    fn take(bytes: &mut &[u8]) -> Self {
        let some = take_u8(bytes) != 0;
        let (entry, rest) = bytes.split_at(T::BYTES);
        *bytes = rest;
        some.then(|| T::take(&mut &entry[..]))
    }
}

/// An append-only list of entries, kept in pages once it outgrows [`RESIDENT`] pages (see
/// the module's doc).
pub(crate) struct Table<T: Fixed> {
    storage: Storage<T>,
}

/// A table is one vector while it fits in its resident pages, so that a run that never
/// needs the file pays nothing for it; the first entry past them turns it into pages.
enum Storage<T> {
    Flat(Vec<T>),
    Paged { len: usize, pages: RefCell<Pages<T>> },
}

impl<T: Fixed> Default for Table<T> {
    fn default() -> Self {
        Table { storage: Storage::Flat(Vec::new()) }
    }
}

impl<T: Fixed> FromIterator<T> for Table<T> {
    fn from_iter<I: IntoIterator<Item = T>>(entries: I) -> Self {
        let mut table = Table::default();
        entries.into_iter().for_each(|entry| table.push(entry));
        table
    }
}

/// The pages, and where the ones out of memory are.
struct Pages<T> {
    pages: Vec<Page<T>>,
    /// The numbers of the pages in memory.
    resident: Vec<usize>,
    /// Counts accesses, to find the page least recently used.
    clock: u64,
    file: Spill,
}

enum Page<T> {
    /// In memory. `dirty` when the file does not hold these entries.
    Resident { entries: Vec<T>, used: u64, dirty: bool },
    /// In the file, at its page number's place: this many entries.
    Written(usize),
}

/// The temporary file.
enum Spill {
    /// Not needed yet.
    None,
    Open(File),
    /// A write failed: the pages it holds are read back from it, no page is written to it.
    ReadOnly(File),
    /// It could not be made: every page stays in memory.
    Failed,
}

impl<T: Fixed> Table<T> {
    /// `len` entries, each `entry`.
    pub(crate) fn filled(len: usize, entry: T) -> Self {
        let mut table = Table::default();
        (0..len).for_each(|_| table.push(entry));
        table
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        match &self.storage {
            Storage::Flat(entries) => entries.len(),
            Storage::Paged { len, .. } => *len,
        }
    }

    /// Adds `entry` at the end.
    #[inline]
    pub(crate) fn push(&mut self, entry: T) {
        match &mut self.storage {
            Storage::Flat(entries) if entries.len() < PAGE * RESIDENT => entries.push(entry),
            _ => self.push_paged(entry),
        }
    }

    /// Adds `entry` at the end of a table that has outgrown its resident pages, turning it
    /// into pages first if it is still one vector.
    #[cold]
    #[inline(never)]
    fn push_paged(&mut self, entry: T) {
        if let Storage::Flat(entries) = &mut self.storage {
            let pages = Pages::of(std::mem::take(entries));
            self.storage = Storage::Paged { len: PAGE * RESIDENT, pages: RefCell::new(pages) };
        }
        let Storage::Paged { len, pages } = &mut self.storage else { unreachable!("paged above") };
        let i = *len;
        *len += 1;
        pages.get_mut().push(i, entry);
    }

    /// Entry `i`. Panics past the end, as indexing a slice does.
    #[inline(always)]
    pub(crate) fn get(&self, i: usize) -> T {
        match &self.storage {
            Storage::Flat(entries) => entries[i],
            // Past the end, the page or the entry in it is missing: indexing panics.
            Storage::Paged { pages, .. } => pages.borrow_mut().entries(i >> PAGE_BITS)[i & (PAGE - 1)],
        }
    }

    /// Entry `i`, if there is one.
    #[inline]
    pub(crate) fn try_get(&self, i: usize) -> Option<T> {
        (i < self.len()).then(|| self.get(i))
    }

    /// Changes entry `i`.
    #[inline]
    pub(crate) fn update(&mut self, i: usize, change: impl FnOnce(&mut T)) {
        match &mut self.storage {
            Storage::Flat(entries) => change(&mut entries[i]),
            // Past the end, the page or the entry in it is missing: indexing panics.
            Storage::Paged { pages, .. } => {
                change(&mut pages.get_mut().entries_mut(i >> PAGE_BITS)[i & (PAGE - 1)]);
            }
        }
    }

    /// Sets entry `i` to `entry`.
    #[inline]
    pub(crate) fn set(&mut self, i: usize, entry: T) {
        self.update(i, |slot| *slot = entry);
    }

    /// The entries, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = T> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// The entries `range`, in order.
    pub(crate) fn range(&self, range: std::ops::Range<usize>) -> impl Iterator<Item = T> + '_ {
        range.map(|i| self.get(i))
    }

    /// Binary search of a table sorted by `key`, as [`slice::binary_search_by_key`].
    pub(crate) fn binary_search_by_key<K: Ord>(
        &self,
        want: &K,
        key: impl Fn(T) -> K,
    ) -> Result<usize, usize> {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let mid = low + (high - low) / 2;
            match key(self.get(mid)).cmp(want) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(low)
    }

    /// Whether some page has left memory (for tests).
    #[cfg(test)]
    pub(crate) fn spilled(&self) -> bool {
        let Storage::Paged { pages, .. } = &self.storage else { return false };
        pages.borrow().pages.iter().any(|page| matches!(page, Page::Written(_)))
    }

    /// The pages, once the table has them (for tests).
    #[cfg(test)]
    fn pages(&self) -> std::cell::Ref<'_, Pages<T>> {
        let Storage::Paged { pages, .. } = &self.storage else { panic!("a flat table") };
        pages.borrow()
    }
}

impl<T: Fixed> Pages<T> {
    /// A flat table's entries, [`RESIDENT`] full pages, all in memory.
    fn of(entries: Vec<T>) -> Self {
        let pages: Vec<Page<T>> = entries
            .chunks(PAGE)
            .map(|page| Page::Resident { entries: page.to_vec(), used: 0, dirty: true })
            .collect();
        Pages { resident: (0..pages.len()).collect(), pages, clock: 0, file: Spill::None }
    }

    /// Adds `entry` as entry `i`, the next one.
    fn push(&mut self, i: usize, entry: T) {
        if i.is_multiple_of(PAGE) {
            self.pages.push(Page::Resident { entries: Vec::with_capacity(PAGE), used: 0, dirty: true });
            self.resident.push(i >> PAGE_BITS);
            self.evict(i >> PAGE_BITS);
        }
        self.entries_mut(i >> PAGE_BITS).push(entry);
    }

    /// Page `p`'s entries, read back into memory if needed.
    #[inline(always)]
    fn entries(&mut self, p: usize) -> &Vec<T> {
        self.touch(p);
        let Page::Resident { entries, .. } = &self.pages[p] else { unreachable!("loaded") };
        entries
    }

    /// Page `p`'s entries, to change: the page is dirty after.
    #[inline]
    fn entries_mut(&mut self, p: usize) -> &mut Vec<T> {
        self.touch(p);
        let Page::Resident { entries, dirty, .. } = &mut self.pages[p] else { unreachable!("loaded") };
        *dirty = true;
        entries
    }

    /// Marks page `p` most recently used, reading it back first if it is not in memory.
    #[inline(always)]
    fn touch(&mut self, p: usize) {
        self.clock += 1;
        match &mut self.pages[p] {
            Page::Resident { used, .. } => *used = self.clock,
            Page::Written(_) => self.load(p),
        }
    }

    /// Reads page `p` back into memory, most recently used, and writes out the page least
    /// recently used.
    #[cold]
    #[inline(never)]
    fn load(&mut self, p: usize) {
        let clock = self.clock;
        let Page::Written(count) = self.pages[p] else { unreachable!("not resident") };
        let (Spill::Open(file) | Spill::ReadOnly(file)) = &mut self.file else {
            unreachable!("a page is written only to a file, which is kept")
        };
        let mut bytes = vec![0; count * T::BYTES];
        let read = file
            .seek(SeekFrom::Start((p * PAGE * T::BYTES) as u64))
            .and_then(|_| file.read_exact(&mut bytes));
        if let Err(e) = read {
            panic!("the checkers' index cannot read back its temporary file: {e}");
        }
        let mut rest = bytes.as_slice();
        let entries: Vec<T> = (0..count).map(|_| T::take(&mut rest)).collect();
        self.pages[p] = Page::Resident { entries, used: clock, dirty: false };
        self.resident.push(p);
        self.evict(p);
    }

    /// Writes out pages least recently used, other than `keep`, until at most [`RESIDENT`]
    /// are in memory. Once the file takes no more writes, only pages it already holds leave.
    fn evict(&mut self, keep: usize) {
        while self.resident.len() > RESIDENT {
            let writable = matches!(self.file, Spill::None | Spill::Open(_));
            let oldest = (0..self.resident.len())
                .filter_map(|r| match &self.pages[self.resident[r]] {
                    Page::Resident { used, dirty, .. } => {
                        (self.resident[r] != keep && (writable || !dirty)).then_some((r, *used))
                    }
                    Page::Written(_) => unreachable!("listed as resident"),
                })
                .min_by_key(|&(_, used)| used);
            let Some((oldest, _)) = oldest else { return };
            let p = self.resident[oldest];
            let Some(count) = self.write(p) else { continue };
            self.resident.swap_remove(oldest);
            self.pages[p] = Page::Written(count);
        }
    }

    /// Writes resident page `p` to the file if the file does not hold it yet: its number of
    /// entries, or `None` if it cannot be written.
    fn write(&mut self, p: usize) -> Option<usize> {
        let Page::Resident { entries, dirty, .. } = &self.pages[p] else { unreachable!("resident") };
        let count = entries.len();
        if !*dirty {
            return Some(count);
        }
        if matches!(self.file, Spill::None) {
            self.file = temp_file().map_or(Spill::Failed, Spill::Open);
        }
        let Spill::Open(file) = &mut self.file else { return None };
        let mut bytes = Vec::with_capacity(count * T::BYTES);
        entries.iter().for_each(|entry| entry.put(&mut bytes));
        let written =
            file.seek(SeekFrom::Start((p * PAGE * T::BYTES) as u64)).and_then(|_| file.write_all(&bytes));
        if written.is_err() {
            // The pages written so far stay readable; the rest stay in memory.
            let Spill::Open(file) = std::mem::replace(&mut self.file, Spill::Failed) else {
                unreachable!("open")
            };
            self.file = Spill::ReadOnly(file);
            return None;
        }
        Some(count)
    }
}

/// A new temporary file, already unlinked where the system allows it, so that nothing is
/// left behind however the process ends.
fn temp_file() -> Option<File> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("shipsim-index-{}-{n}", std::process::id()));
    let file = File::options().read(true).write(true).create_new(true).open(&path).ok()?;
    // Where an open file cannot be unlinked, it is left in the temporary directory.
    let _ = std::fs::remove_file(&path);
    Some(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// More entries than the resident pages hold: every entry reads back as written, in any
    /// order, and a change to a page that left memory is kept.
    #[test]
    fn entries_read_back_as_written_after_their_pages_left_memory() {
        let mut table: Table<usize> = Table::default();
        let n = PAGE * (RESIDENT + 10) + PAGE / 2 + 1;
        (0..n).for_each(|i| table.push(i * 3));
        assert!(table.spilled(), "some page left memory");
        assert!(table.pages().resident.len() <= RESIDENT);
        assert_eq!(table.get(0), 0);
        assert_eq!(table.get(n - 1), (n - 1) * 3);
        let (set, updated) = (1, PAGE * 3 + 1);
        table.set(set, 1);
        table.update(updated, |e| *e += 1);
        for i in (0..n).rev().step_by(97) {
            let _ = table.get(i);
        }
        let want: Vec<usize> = (0..n)
            .map(|i| {
                if i == set {
                    1
                } else if i == updated {
                    i * 3 + 1
                } else {
                    i * 3
                }
            })
            .collect();
        assert_eq!(table.iter().collect::<Vec<_>>(), want);
        assert_eq!(table.binary_search_by_key(&(PAGE * 9 * 3), |e| e), Ok(PAGE * 9));
        assert_eq!(table.binary_search_by_key(&(PAGE * 9 * 3 + 1), |e| e), Err(PAGE * 9 + 1));
        assert_eq!((table.get(n - 1), table.try_get(n)), ((n - 1) * 3, None));
        (0..=RESIDENT).for_each(|p| _ = table.get(p * PAGE));
        let partial = n % PAGE;
        assert!(
            matches!(table.pages().pages.last(), Some(&Page::Written(c)) if c == partial),
            "the last page left memory"
        );
        table.push(1);
        assert_eq!(
            (table.len(), table.get(n), table.get(n - 1)),
            (n + 1, 1, (n - 1) * 3),
            "the last page grows"
        );
    }

    /// Once a write fails, the pages written before it are still read back, and the rest stay
    /// in memory: nothing is lost, nothing panics.
    #[cfg(target_os = "linux")]
    #[test]
    fn after_a_failed_write_every_entry_still_reads_back() {
        use std::os::fd::AsRawFd;
        let mut table: Table<usize> = Table::default();
        let n = PAGE * (RESIDENT + 4);
        (0..n).for_each(|i| table.push(i));
        let Storage::Paged { pages, .. } = &mut table.storage else { panic!("paged") };
        let pages = pages.get_mut();
        let Spill::Open(file) = &pages.file else { panic!("the file is open") };
        // The same file, opened for reading only: every write to it fails.
        let read_only = File::open(format!("/proc/self/fd/{}", file.as_raw_fd())).expect("reopen");
        pages.file = Spill::Open(read_only);
        (n..n * 3).for_each(|i| table.push(i));
        table.update(1, |e| *e += 100);
        assert!((0..n * 3).all(|i| table.get(i) == if i == 1 { 101 } else { i }));
        assert!(matches!(table.pages().file, Spill::ReadOnly(_)), "the file is kept for reading");
        assert!(table.pages().resident.len() > RESIDENT, "what could not be written stays in memory");
    }

    /// Of several pages in memory, the one used least recently leaves first.
    #[test]
    fn the_page_used_least_recently_leaves_first() {
        let mut pages: Pages<u32> = Pages::of(vec![0; PAGE * (RESIDENT + 2)]);
        pages.file = Spill::Failed; // nothing can be written: only clean pages may leave
        pages.pages.iter_mut().for_each(|page| {
            if let Page::Resident { dirty, .. } = page {
                *dirty = false;
            }
        });
        let _ = pages.entries(0);
        pages.evict(usize::MAX);
        let written: Vec<usize> =
            (0..pages.pages.len()).filter(|&p| matches!(pages.pages[p], Page::Written(_))).collect();
        assert_eq!(written, (1..3).collect::<Vec<_>>(), "page 0 was used last");
    }

    /// An optional entry reads back as it was, whichever way.
    #[test]
    fn optional_entries_read_back_as_written() {
        let table: Table<Option<u64>> =
            (0..(PAGE * (RESIDENT + 2)) as u64).map(|i| (i % 3 != 0).then_some(i)).collect();
        assert!(table.spilled());
        assert!(table.iter().enumerate().all(|(i, e)| e == (i % 3 != 0).then_some(i as u64)));
        let filled = Table::filled(PAGE * (RESIDENT + 1), Some(7u32));
        assert_eq!(
            (filled.len(), filled.get(0), filled.get(filled.len() - 1)),
            (PAGE * (RESIDENT + 1), Some(7), Some(7))
        );
    }

    /// A table that fits never makes the file.
    #[test]
    fn a_table_that_fits_stays_in_memory() {
        let mut table: Table<u32> = Table::default();
        (0..(PAGE * RESIDENT) as u32).for_each(|i| table.push(i));
        assert!(!table.spilled());
        assert!(matches!(table.storage, Storage::Flat(_)), "a table that fits is one vector");
        assert_eq!(table.range(1..3).collect::<Vec<_>>(), [1, 2]);
    }
}
