//! A process's fd table, as Linux's `fs/file.c` keeps it: small integers
//! that each name an open file, new ones taking the lowest free number.
//!
//! The table knows nothing of what a file is: a front end stores its own
//! kind of entry (an eventfd's [`Descriptor`](crate::Descriptor), a file of
//! wasmtime-wasi, ...). Sharing one table between every kind of file is what
//! makes `eventfd()` after `open()` return a fresh number, and `dup2` onto
//! any number work, as on Linux.

use std::collections::BTreeSet;

/// Why a number could not be given out or taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FdError {
    /// `EMFILE`: every number below the table's limit is in use.
    Mfile,
    /// `EBADF`: the number is at or above the limit (`dup2`, as Linux
    /// refuses a `newfd` at or above `RLIMIT_NOFILE`).
    Badf,
}

/// One guest's fd table: each number names an entry of type `F`.
///
/// Numbers are below [`FdTable::limit`] (`RLIMIT_NOFILE`), and a new entry
/// takes the lowest free one, in O(log n) (`alloc_fd` scans a bitmap; a
/// guest that dups 200 000 times must not cost quadratic time).
#[derive(Debug)]
pub struct FdTable<F> {
    /// Indexed by fd; never ends with a free slot.
    slots: Vec<Option<F>>,
    /// The free numbers below `slots.len()`: the lowest free number is the
    /// first of them, or `slots.len()` when there is none.
    free: BTreeSet<usize>,
    /// How many entries are open.
    open: usize,
    /// Every number is below this (`RLIMIT_NOFILE`).
    limit: usize,
}

impl<F> FdTable<F> {
    /// An empty table whose numbers stay below `limit`.
    pub fn with_limit(limit: usize) -> Self {
        FdTable {
            slots: Vec::new(),
            free: BTreeSet::new(),
            open: 0,
            // Numbers are `i32`s to guests.
            limit: limit.min(i32::MAX as usize),
        }
    }

    /// The bound on numbers: every number is below it.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The number the next [`FdTable::insert`] would take.
    fn lowest_free(&self) -> usize {
        self.free.first().copied().unwrap_or(self.slots.len())
    }

    /// Stores `file` under the lowest free number (`EMFILE` when that is at
    /// the limit).
    pub fn insert(&mut self, file: F) -> Result<u32, FdError> {
        let fd = self.lowest_free();
        if fd >= self.limit {
            return Err(FdError::Mfile);
        }
        self.put(fd, file);
        Ok(fd as u32)
    }

    /// Stores `file` under `fd` (`dup2`): the entry that was there, if any,
    /// is returned for the caller to close. `EBADF` when `fd` is at or above
    /// the limit.
    pub fn replace(&mut self, fd: u32, file: F) -> Result<Option<F>, FdError> {
        let index = fd as usize;
        if index >= self.limit {
            return Err(FdError::Badf);
        }
        let old = self.take(index);
        self.put(index, file);
        Ok(old)
    }

    fn put(&mut self, fd: usize, file: F) {
        if fd >= self.slots.len() {
            // The numbers between the old end and `fd` become free.
            self.free.extend(self.slots.len()..fd);
            self.slots.resize_with(fd + 1, || None);
        } else {
            self.free.remove(&fd);
        }
        if let Some(slot) = self.slots.get_mut(fd) {
            *slot = Some(file);
            self.open += 1;
        }
    }

    /// The entry numbered `fd`.
    pub fn get(&self, fd: u32) -> Option<&F> {
        self.slots.get(fd as usize).and_then(Option::as_ref)
    }

    /// The entry numbered `fd`, to change.
    pub fn get_mut(&mut self, fd: u32) -> Option<&mut F> {
        self.slots.get_mut(fd as usize).and_then(Option::as_mut)
    }

    /// Takes the entry numbered `fd` out of the table (`close`).
    pub fn remove(&mut self, fd: u32) -> Option<F> {
        self.take(fd as usize)
    }

    fn take(&mut self, index: usize) -> Option<F> {
        let file = self.slots.get_mut(index).and_then(Option::take)?;
        self.open -= 1;
        self.free.insert(index);
        // Free slots at the end go, so that `free` holds only numbers below
        // the highest open one; each was inserted once, so this is O(log n)
        // per call over time.
        while self.slots.last().is_some_and(Option::is_none) {
            self.slots.pop();
            self.free.remove(&self.slots.len());
        }
        Some(file)
    }

    /// How many entries are open.
    pub fn len(&self) -> usize {
        self.open
    }

    /// Whether no entry is open.
    pub fn is_empty(&self) -> bool {
        self.open == 0
    }

    /// The open entries and their numbers, lowest first.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &F)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(fd, slot)| Some((fd as u32, slot.as_ref()?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_the_lowest_free() {
        let mut fds = FdTable::with_limit(1024);
        assert_eq!(
            [fds.insert('a'), fds.insert('b'), fds.insert('c')],
            [Ok(0), Ok(1), Ok(2)]
        );
        assert_eq!(fds.remove(1), Some('b'));
        assert_eq!(fds.get(1), None);
        assert_eq!(fds.insert('d'), Ok(1));
        assert_eq!(fds.remove(2), Some('c'));
        assert_eq!(fds.remove(1), Some('d'));
        assert_eq!(fds.len(), 1);
        assert_eq!(fds.insert('e'), Ok(1));
        assert_eq!(fds.remove(7), None);
    }

    #[test]
    fn the_limit_bounds_numbers_not_counts() {
        let mut fds = FdTable::with_limit(3);
        assert_eq!(fds.insert(0), Ok(0));
        assert_eq!(fds.replace(2, 2), Ok(None));
        assert_eq!(fds.insert(1), Ok(1));
        assert_eq!(fds.insert(3), Err(FdError::Mfile));
        assert_eq!(fds.replace(3, 3), Err(FdError::Badf));
        assert_eq!(fds.replace(2, 4), Ok(Some(2)));
        assert_eq!(fds.len(), 3);
    }

    #[test]
    fn replace_beyond_the_end_frees_the_gap() {
        let mut fds = FdTable::with_limit(100);
        assert_eq!(fds.replace(5, 'x'), Ok(None));
        assert_eq!(fds.insert('a'), Ok(0));
        assert_eq!(fds.insert('b'), Ok(1));
        assert_eq!(fds.replace(50, 'd'), Ok(None));
        assert_eq!(fds.remove(50), Some('d'));
        assert_eq!(fds.remove(5), Some('x'));
        assert_eq!(fds.iter().map(|(fd, _)| fd).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(fds.insert('f'), Ok(2));
        assert_eq!(fds.remove(1), Some('b'));
        assert_eq!(fds.insert('g'), Ok(1));
        assert_eq!(fds.insert('h'), Ok(3));
    }

    #[test]
    fn numbers_follow_the_lowest_free_rule_under_any_order_of_calls() {
        // Against a model that scans for the lowest free number.
        let mut fds = FdTable::with_limit(usize::MAX);
        let mut model: Vec<bool> = Vec::new();
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let fd = (seed % 64) as usize;
            match seed % 5 {
                0 | 1 => {
                    let open = model.get(fd).copied().unwrap_or(false);
                    assert_eq!(fds.remove(fd as u32).is_some(), open, "close({fd})");
                    if open {
                        model[fd] = false;
                    }
                }
                2 => {
                    fds.replace(fd as u32, ()).unwrap();
                    if model.len() <= fd {
                        model.resize(fd + 1, false);
                    }
                    model[fd] = true;
                }
                _ => {
                    let lowest = model.iter().position(|open| !open).unwrap_or(model.len());
                    assert_eq!(fds.insert(()), Ok(lowest as u32));
                    match model.get_mut(lowest) {
                        Some(slot) => *slot = true,
                        None => model.push(true),
                    }
                }
            }
            assert_eq!(fds.len(), model.iter().filter(|open| **open).count());
        }
    }
}
