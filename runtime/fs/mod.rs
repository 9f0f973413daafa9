//! File system calls that park only the calling green thread: [`std::fs`] with each call offloaded.
//!
//! The kernel has no readiness notification for regular files (`epoll` refuses them, `poll` calls them always
//! ready), so a file read cannot park on the reactor the way a socket read does; it can only block an OS thread. Every function
//! here therefore runs the matching `std::fs` call through [`offload`](fn@crate::offload): in a green thread, only
//! that green thread waits while its worker keeps running the others; on a plain OS thread the call runs inline.
//! Arguments and results are the same as `std::fs`, so porting code means changing the path `std::fs` →
//! `green::fs`.
//!
//! [`File`] offloads each call on the inner `std::fs::File`, so it works unchanged under `BufReader` and
//! `BufWriter` — which is also how to use it well: each `read`/`write` costs a handoff to the pool and back
//! (see [`crate::offload`](mod@crate::offload)), so batch small accesses in a buffer.
//!
//! ```
//! use std::io::{BufRead, BufReader, BufWriter, Write};
//!
//! green::run(|| -> std::io::Result<()> {
//!     let dir = std::env::temp_dir().join(format!("green-fs-doc-{}", std::process::id()));
//!     green::fs::create_dir_all(&dir)?;
//!     let path = dir.join("lines.txt");
//!     let mut out = BufWriter::new(green::fs::File::create(&path)?);
//!     for i in 0..3 {
//!         writeln!(out, "line {i}")?;
//!     }
//!     out.flush()?;
//!     let lines: Vec<String> = BufReader::new(green::fs::File::open(&path)?).lines().collect::<Result<_, _>>()?;
//!     assert_eq!(lines, ["line 0", "line 1", "line 2"]);
//!     green::fs::remove_dir_all(&dir)
//! })
//! .unwrap();
//! ```

#![forbid(unsafe_code)]

mod file;
mod open_options;

use std::fs::{DirEntry, Metadata};
use std::io;
use std::path::{Path, PathBuf};

pub use file::File;
pub use open_options::OpenOptions;

use crate::offload;

/// Reads the whole file at `path`; [`std::fs::read`], offloaded.
///
/// # Errors
/// As [`std::fs::read`]: the file does not exist, is not readable, ...
pub fn read<P: AsRef<Path>>(path: P) -> io::Result<Vec<u8>> {
    let path = path.as_ref();
    offload(|| std::fs::read(path))
}

/// Reads the whole file at `path` as UTF-8; [`std::fs::read_to_string`], offloaded.
///
/// # Errors
/// As [`std::fs::read_to_string`], including `InvalidData` when the contents are not UTF-8.
pub fn read_to_string<P: AsRef<Path>>(path: P) -> io::Result<String> {
    let path = path.as_ref();
    offload(|| std::fs::read_to_string(path))
}

/// Writes `contents` to the file at `path`, creating or truncating it; [`std::fs::write`], offloaded.
///
/// # Errors
/// As [`std::fs::write`].
pub fn write<P: AsRef<Path>, C: AsRef<[u8]>>(path: P, contents: C) -> io::Result<()> {
    let (path, contents) = (path.as_ref(), contents.as_ref());
    offload(|| std::fs::write(path, contents))
}

/// The metadata of `path`, following symbolic links; [`std::fs::metadata`], offloaded.
///
/// # Errors
/// As [`std::fs::metadata`].
pub fn metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    let path = path.as_ref();
    offload(|| std::fs::metadata(path))
}

/// The metadata of `path` itself, not following a symbolic link; [`std::fs::symlink_metadata`], offloaded.
///
/// # Errors
/// As [`std::fs::symlink_metadata`].
pub fn symlink_metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    let path = path.as_ref();
    offload(|| std::fs::symlink_metadata(path))
}

/// The absolute path of `path` with links resolved; [`std::fs::canonicalize`], offloaded.
///
/// # Errors
/// As [`std::fs::canonicalize`].
pub fn canonicalize<P: AsRef<Path>>(path: P) -> io::Result<PathBuf> {
    let path = path.as_ref();
    offload(|| std::fs::canonicalize(path))
}

/// Removes the file at `path`; [`std::fs::remove_file`], offloaded.
///
/// # Errors
/// As [`std::fs::remove_file`].
pub fn remove_file<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    offload(|| std::fs::remove_file(path))
}

/// Renames `from` to `to`, replacing `to` if it exists; [`std::fs::rename`], offloaded.
///
/// # Errors
/// As [`std::fs::rename`].
pub fn rename<P: AsRef<Path>, Q: AsRef<Path>>(from: P, to: Q) -> io::Result<()> {
    let (from, to) = (from.as_ref(), to.as_ref());
    offload(|| std::fs::rename(from, to))
}

/// Copies the contents and permissions of `from` to `to`; returns the bytes copied; [`std::fs::copy`],
/// offloaded (one job for the whole copy).
///
/// # Errors
/// As [`std::fs::copy`].
pub fn copy<P: AsRef<Path>, Q: AsRef<Path>>(from: P, to: Q) -> io::Result<u64> {
    let (from, to) = (from.as_ref(), to.as_ref());
    offload(|| std::fs::copy(from, to))
}

/// Creates the directory `path`; [`std::fs::create_dir`], offloaded.
///
/// # Errors
/// As [`std::fs::create_dir`], including `AlreadyExists`.
pub fn create_dir<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    offload(|| std::fs::create_dir(path))
}

/// Creates the directory `path` and any missing parents; [`std::fs::create_dir_all`], offloaded.
///
/// # Errors
/// As [`std::fs::create_dir_all`].
pub fn create_dir_all<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    offload(|| std::fs::create_dir_all(path))
}

/// Removes the empty directory `path`; [`std::fs::remove_dir`], offloaded.
///
/// # Errors
/// As [`std::fs::remove_dir`], including when the directory is not empty.
pub fn remove_dir<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    offload(|| std::fs::remove_dir(path))
}

/// Removes the directory `path` and everything in it; [`std::fs::remove_dir_all`], offloaded (one job for
/// the whole tree).
///
/// # Errors
/// As [`std::fs::remove_dir_all`].
pub fn remove_dir_all<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    offload(|| std::fs::remove_dir_all(path))
}

/// The entries of the directory `path`, read in one job and collected; [`std::fs::read_dir`], offloaded.
///
/// Order is whatever the file system returns. `DirEntry::path`, `file_name` and (on most file systems)
/// `file_type` need no further call; `DirEntry::metadata` does and blocks: use [`metadata`] on the path.
///
/// # Errors
/// As [`std::fs::read_dir`], and the first error met while reading entries.
pub fn read_dir<P: AsRef<Path>>(path: P) -> io::Result<Vec<DirEntry>> {
    let path = path.as_ref();
    offload(|| std::fs::read_dir(path)?.collect())
}
