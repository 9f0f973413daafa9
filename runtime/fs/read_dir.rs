//! [`ReadDir`] and [`DirEntry`]: a directory listing read in one offloaded job, iterated from memory.
//!
//! `std::fs::ReadDir` makes a `getdents` system call every few dozen entries as it is iterated, and
//! `std::fs::DirEntry::file_type` may `lstat` the entry; both would block a worker. Here the job that opens the
//! directory also reads every entry and its file type, so iterating and `file_type` never block;
//! `metadata` (a `stat` each) is offloaded when asked for.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::vec;

use super::{FileType, Metadata};
use crate::offload;

/// The entries of a directory, from [`read_dir`](fn@super::read_dir): an iterator of `io::Result<DirEntry>`, as
/// [`std::fs::ReadDir`].
pub struct ReadDir {
    /// What the job read, in the file system's order; an error met while reading is one `Err` item.
    entries: vec::IntoIter<io::Result<DirEntry>>,
}

/// One entry of a [`ReadDir`]: [`std::fs::DirEntry`] with its file type read in advance and `metadata`
/// offloaded.
pub struct DirEntry {
    /// The `std` entry (its `path` and `file_name` need no system call).
    inner: std::fs::DirEntry,
    /// Its file type, read by the listing job; `None` if that failed (then `file_type` asks again).
    file_type: Option<FileType>,
}

impl ReadDir {
    /// Opens and reads the directory `path` in one offloaded job.
    #[track_caller]
    pub(super) fn read(path: &Path) -> io::Result<ReadDir> {
        let entries = offload(|| -> io::Result<Vec<io::Result<DirEntry>>> {
            let entries = std::fs::read_dir(path)?.map(|entry| {
                entry.map(|inner| {
                    let file_type = inner.file_type().ok();
                    DirEntry { inner, file_type }
                })
            });
            Ok(entries.collect())
        })?;
        Ok(ReadDir { entries: entries.into_iter() })
    }
}

impl Iterator for ReadDir {
    type Item = io::Result<DirEntry>;

    fn next(&mut self) -> Option<io::Result<DirEntry>> {
        self.entries.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir").field("remaining", &self.entries.len()).finish()
    }
}

impl DirEntry {
    /// The full path of the entry: the directory given to `read_dir` joined with [`file_name`](Self::file_name).
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("green-fs-entry-path-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     green::fs::create_dir_all(&dir)?;
    ///     green::fs::write(dir.join("a"), "")?;
    ///     let entry = green::fs::read_dir(&dir)?.next().unwrap()?;
    ///     assert_eq!(entry.path(), dir.join("a"));
    ///     green::fs::remove_dir_all(&dir)
    /// })
    /// .unwrap();
    /// ```
    pub fn path(&self) -> PathBuf {
        self.inner.path()
    }

    /// The entry's metadata, not following a symbolic link; [`std::fs::DirEntry::metadata`], offloaded.
    ///
    /// # Errors
    /// As `std`'s: the entry was removed meanwhile, permissions, ...
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("green-fs-entry-metadata-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     green::fs::create_dir_all(&dir)?;
    ///     green::fs::write(dir.join("four"), "1234")?;
    ///     for entry in green::fs::read_dir(&dir)? {
    ///         assert_eq!(entry?.metadata()?.len(), 4);
    ///     }
    ///     green::fs::remove_dir_all(&dir)
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn metadata(&self) -> io::Result<Metadata> {
        offload(|| self.inner.metadata())
    }

    /// The entry's file type, not following a symbolic link; read with the listing, so it never waits.
    ///
    /// # Errors
    /// As [`std::fs::DirEntry::file_type`] (only when it could not be read with the listing; it is then asked
    /// for again, offloaded).
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("green-fs-entry-type-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     green::fs::create_dir_all(dir.join("child"))?;
    ///     let entry = green::fs::read_dir(&dir)?.next().unwrap()?;
    ///     assert!(entry.file_type()?.is_dir());
    ///     green::fs::remove_dir_all(&dir)
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn file_type(&self) -> io::Result<FileType> {
        match self.file_type {
            Some(file_type) => Ok(file_type),
            None => offload(|| self.inner.file_type()),
        }
    }

    /// The entry's name (the last component of its path).
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("green-fs-entry-name-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     green::fs::create_dir_all(&dir)?;
    ///     green::fs::write(dir.join("notes.md"), "")?;
    ///     let entry = green::fs::read_dir(&dir)?.next().unwrap()?;
    ///     assert_eq!(entry.file_name(), "notes.md");
    ///     green::fs::remove_dir_all(&dir)
    /// })
    /// .unwrap();
    /// ```
    pub fn file_name(&self) -> OsString {
        self.inner.file_name()
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.path()).finish()
    }
}

#[cfg(unix)]
impl std::os::unix::fs::DirEntryExt for DirEntry {
    /// The entry's inode number, from the listing (no system call).
    fn ino(&self) -> u64 {
        std::os::unix::fs::DirEntryExt::ino(&self.inner)
    }
}
