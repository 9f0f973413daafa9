//! File system calls that park only the calling green thread: [`std::fs`] with each call offloaded.
//!
//! The kernel has no readiness notification for regular files (`epoll` refuses them, `poll` calls them always
//! ready), so a file read cannot park on the reactor the way a socket read does; it can only block an OS thread. Every function
//! here therefore runs the matching `std::fs` call through [`offload`](fn@crate::offload): in a green thread, only
//! that green thread waits while its worker keeps running the others; on a plain OS thread the call runs inline.
//! Arguments and results are the same as `std::fs`, so porting code means changing the path `std::fs` →
//! `green::fs`: every function and type of `std::fs` is here ([`Metadata`], [`Permissions`], [`FileType`] and
//! [`FileTimes`] are `std`'s own: they hold data and never block), with the Unix extension traits
//! (`std::os::unix::fs::{FileExt, OpenOptionsExt, DirBuilderExt, DirEntryExt}`) implemented on the types that
//! wrap `std`'s.
//!
//! # Differences from `std::fs`
//! - [`read_dir`](fn@read_dir) reads the whole directory in one job (and each entry's file type with it), then
//!   iterates from memory: a directory of a million entries is a million entries in memory at once.
//! - [`File::lock`] and [`File::lock_shared`] in a green thread retry a non-blocking lock with short sleeps
//!   (a cancellation point; no pool thread is held for as long as another process keeps the lock);
//!   [`TryLockError`] is this crate's, shaped as `std::fs::TryLockError` (which needs Rust 1.89).
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

#![deny(unsafe_code)]

mod dir_builder;
mod file;
mod open_options;
mod read_dir;

use std::io;
use std::path::{Path, PathBuf};

pub use dir_builder::DirBuilder;
pub use file::{File, TryLockError};
pub use open_options::OpenOptions;
pub use read_dir::{DirEntry, ReadDir};
pub use std::fs::{FileTimes, FileType, Metadata, Permissions};

use crate::offload;

/// Reads the whole file at `path`; [`std::fs::read`], offloaded.
///
/// # Errors
/// As [`std::fs::read`]: the file does not exist, is not readable, ...
///
/// ```
/// # let path = std::env::temp_dir().join(format!("green-fs-read-{}", std::process::id()));
/// green::run(|| -> std::io::Result<()> {
///     green::fs::write(&path, [1, 2, 3])?;
///     assert_eq!(green::fs::read(&path)?, [1, 2, 3]);
///     green::fs::remove_file(&path)
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn read<P: AsRef<Path>>(path: P) -> io::Result<Vec<u8>> {
    let path = path.as_ref();
    offload(|| std::fs::read(path))
}

/// Reads the whole file at `path` as UTF-8; [`std::fs::read_to_string`], offloaded.
///
/// # Errors
/// As [`std::fs::read_to_string`], including `InvalidData` when the contents are not UTF-8.
///
/// ```
/// # let path = std::env::temp_dir().join(format!("green-fs-read-to-string-{}", std::process::id()));
/// green::run(|| -> std::io::Result<()> {
///     green::fs::write(&path, "port = 8080")?;
///     assert_eq!(green::fs::read_to_string(&path)?, "port = 8080");
///     green::fs::remove_file(&path)
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn read_to_string<P: AsRef<Path>>(path: P) -> io::Result<String> {
    let path = path.as_ref();
    offload(|| std::fs::read_to_string(path))
}

/// Writes `contents` to the file at `path`, creating or truncating it; [`std::fs::write`], offloaded.
///
/// # Errors
/// As [`std::fs::write`].
///
/// ```
/// # let path = std::env::temp_dir().join(format!("green-fs-write-{}", std::process::id()));
/// green::run(|| -> std::io::Result<()> {
///     green::fs::write(&path, b"first")?;
///     green::fs::write(&path, b"second")?; // replaces the contents
///     assert_eq!(green::fs::read(&path)?, b"second");
///     green::fs::remove_file(&path)
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn write<P: AsRef<Path>, C: AsRef<[u8]>>(path: P, contents: C) -> io::Result<()> {
    let (path, contents) = (path.as_ref(), contents.as_ref());
    offload(|| std::fs::write(path, contents))
}

/// The metadata of `path`, following symbolic links; [`std::fs::metadata`], offloaded.
///
/// # Errors
/// As [`std::fs::metadata`].
///
/// ```
/// # let path = std::env::temp_dir().join(format!("green-fs-metadata-{}", std::process::id()));
/// green::run(|| -> std::io::Result<()> {
///     green::fs::write(&path, "12345")?;
///     let metadata = green::fs::metadata(&path)?;
///     assert!(metadata.is_file());
///     assert_eq!(metadata.len(), 5);
///     green::fs::remove_file(&path)
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    let path = path.as_ref();
    offload(|| std::fs::metadata(path))
}

/// The metadata of `path` itself, not following a symbolic link; [`std::fs::symlink_metadata`], offloaded.
///
/// # Errors
/// As [`std::fs::symlink_metadata`].
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("green-fs-symlink-metadata-{}", std::process::id()));
/// green::run(|| -> std::io::Result<()> {
///     green::fs::create_dir_all(&dir)?;
///     green::fs::write(dir.join("target"), "x")?;
///     std::os::unix::fs::symlink(dir.join("target"), dir.join("link"))?;
///     assert!(green::fs::symlink_metadata(dir.join("link"))?.file_type().is_symlink());
///     assert!(green::fs::metadata(dir.join("link"))?.is_file());
///     green::fs::remove_dir_all(&dir)
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn symlink_metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    let path = path.as_ref();
    offload(|| std::fs::symlink_metadata(path))
}

/// The absolute path of `path` with links resolved; [`std::fs::canonicalize`], offloaded.
///
/// # Errors
/// As [`std::fs::canonicalize`].
///
/// ```
/// green::run(|| -> std::io::Result<()> {
///     let tmp = green::fs::canonicalize(std::env::temp_dir())?;
///     assert!(tmp.is_absolute());
///     assert_eq!(green::fs::canonicalize(tmp.join("."))?, tmp);
///     Ok(())
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn canonicalize<P: AsRef<Path>>(path: P) -> io::Result<PathBuf> {
    let path = path.as_ref();
    offload(|| std::fs::canonicalize(path))
}

/// Removes the file at `path`; [`std::fs::remove_file`], offloaded.
///
/// # Errors
/// As [`std::fs::remove_file`].
///
/// ```
/// # let path = std::env::temp_dir().join(format!("green-fs-remove-file-{}", std::process::id()));
/// green::run(|| -> std::io::Result<()> {
///     green::fs::write(&path, "temporary")?;
///     green::fs::remove_file(&path)?;
///     assert!(!green::fs::exists(&path)?);
///     Ok(())
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn remove_file<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    offload(|| std::fs::remove_file(path))
}

/// Renames `from` to `to`, replacing `to` if it exists; [`std::fs::rename`], offloaded.
///
/// # Errors
/// As [`std::fs::rename`].
///
/// ```
/// # let from = std::env::temp_dir().join(format!("green-fs-rename-a-{}", std::process::id()));
/// # let to = std::env::temp_dir().join(format!("green-fs-rename-b-{}", std::process::id()));
/// green::run(|| -> std::io::Result<()> {
///     green::fs::write(&from, "moved")?;
///     green::fs::rename(&from, &to)?;
///     assert_eq!(green::fs::read_to_string(&to)?, "moved");
///     green::fs::remove_file(&to)
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn rename<P: AsRef<Path>, Q: AsRef<Path>>(from: P, to: Q) -> io::Result<()> {
    let (from, to) = (from.as_ref(), to.as_ref());
    offload(|| std::fs::rename(from, to))
}

/// Copies the contents and permissions of `from` to `to`; returns the bytes copied; [`std::fs::copy`],
/// offloaded (one job for the whole copy).
///
/// # Errors
/// As [`std::fs::copy`].
///
/// ```
/// # let from = std::env::temp_dir().join(format!("green-fs-copy-a-{}", std::process::id()));
/// # let to = std::env::temp_dir().join(format!("green-fs-copy-b-{}", std::process::id()));
/// green::run(|| -> std::io::Result<()> {
///     green::fs::write(&from, "copy me")?;
///     assert_eq!(green::fs::copy(&from, &to)?, 7);
///     assert_eq!(green::fs::read_to_string(&to)?, "copy me");
///     green::fs::remove_file(&from)?;
///     green::fs::remove_file(&to)
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn copy<P: AsRef<Path>, Q: AsRef<Path>>(from: P, to: Q) -> io::Result<u64> {
    let (from, to) = (from.as_ref(), to.as_ref());
    offload(|| std::fs::copy(from, to))
}

/// Creates a hard link `link` to the file `original`; [`std::fs::hard_link`], offloaded.
///
/// # Errors
/// As [`std::fs::hard_link`].
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("green-fs-hard-link-{}", std::process::id()));
/// green::run(|| -> std::io::Result<()> {
///     green::fs::create_dir_all(&dir)?;
///     green::fs::write(dir.join("original"), "shared")?;
///     green::fs::hard_link(dir.join("original"), dir.join("link"))?;
///     assert_eq!(green::fs::read_to_string(dir.join("link"))?, "shared");
///     green::fs::remove_dir_all(&dir)
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn hard_link<P: AsRef<Path>, Q: AsRef<Path>>(original: P, link: Q) -> io::Result<()> {
    let (original, link) = (original.as_ref(), link.as_ref());
    offload(|| std::fs::hard_link(original, link))
}

/// The target of the symbolic link `path`; [`std::fs::read_link`], offloaded.
///
/// # Errors
/// As [`std::fs::read_link`], including when `path` is not a symbolic link.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("green-fs-read-link-{}", std::process::id()));
/// green::run(|| -> std::io::Result<()> {
///     green::fs::create_dir_all(&dir)?;
///     std::os::unix::fs::symlink("elsewhere", dir.join("link"))?;
///     assert_eq!(green::fs::read_link(dir.join("link"))?, std::path::Path::new("elsewhere"));
///     green::fs::remove_dir_all(&dir)
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn read_link<P: AsRef<Path>>(path: P) -> io::Result<PathBuf> {
    let path = path.as_ref();
    offload(|| std::fs::read_link(path))
}

/// Changes the permissions of `path`; [`std::fs::set_permissions`], offloaded.
///
/// # Errors
/// As [`std::fs::set_permissions`].
///
/// ```
/// # let path = std::env::temp_dir().join(format!("green-fs-set-permissions-{}", std::process::id()));
/// green::run(|| -> std::io::Result<()> {
///     green::fs::write(&path, "read me only")?;
///     let mut permissions = green::fs::metadata(&path)?.permissions();
///     permissions.set_readonly(true);
///     green::fs::set_permissions(&path, permissions)?;
///     assert!(green::fs::metadata(&path)?.permissions().readonly());
///     green::fs::remove_file(&path)
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn set_permissions<P: AsRef<Path>>(path: P, permissions: Permissions) -> io::Result<()> {
    let path = path.as_ref();
    offload(|| std::fs::set_permissions(path, permissions))
}

/// Whether `path` exists (following symbolic links); `std::fs::exists`, offloaded.
///
/// # Errors
/// When existence cannot be determined (a permission error on a parent directory, ...); a missing file is
/// `Ok(false)`, as in `std`.
///
/// ```
/// green::run(|| {
///     assert!(green::fs::exists(std::env::temp_dir()).unwrap());
///     assert!(!green::fs::exists("/no/such/green/path").unwrap());
/// });
/// ```
#[track_caller]
pub fn exists<P: AsRef<Path>>(path: P) -> io::Result<bool> {
    let path = path.as_ref();
    offload(|| path.try_exists())
}

/// Creates a symbolic link `link` pointing at `original`; `std::fs::soft_link`, offloaded, deprecated as std's
/// is (use `std::os::unix::fs::symlink` inside [`offload`](fn@crate::offload)).
///
/// # Errors
/// As `std::os::unix::fs::symlink`.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("green-fs-soft-link-{}", std::process::id()));
/// green::run(|| -> std::io::Result<()> {
///     green::fs::create_dir_all(&dir)?;
///     #[allow(deprecated)]
///     green::fs::soft_link("target", dir.join("link"))?;
///     assert_eq!(green::fs::read_link(dir.join("link"))?, std::path::Path::new("target"));
///     green::fs::remove_dir_all(&dir)
/// })
/// .unwrap();
/// ```
#[deprecated(note = "replaced with `std::os::unix::fs::symlink` (inside `green::offload`), as in std")]
#[track_caller]
pub fn soft_link<P: AsRef<Path>, Q: AsRef<Path>>(original: P, link: Q) -> io::Result<()> {
    let (original, link) = (original.as_ref(), link.as_ref());
    offload(|| std::os::unix::fs::symlink(original, link))
}

/// Creates the directory `path`; [`std::fs::create_dir`], offloaded.
///
/// # Errors
/// As [`std::fs::create_dir`], including `AlreadyExists`.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("green-fs-create-dir-{}", std::process::id()));
/// green::run(|| -> std::io::Result<()> {
///     green::fs::create_dir(&dir)?;
///     assert_eq!(green::fs::create_dir(&dir).unwrap_err().kind(), std::io::ErrorKind::AlreadyExists);
///     green::fs::remove_dir(&dir)
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn create_dir<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    offload(|| std::fs::create_dir(path))
}

/// Creates the directory `path` and any missing parents; [`std::fs::create_dir_all`], offloaded.
///
/// # Errors
/// As [`std::fs::create_dir_all`].
///
/// ```
/// # let root = std::env::temp_dir().join(format!("green-fs-create-dir-all-{}", std::process::id()));
/// green::run(|| -> std::io::Result<()> {
///     green::fs::create_dir_all(root.join("a/b/c"))?;
///     assert!(green::fs::metadata(root.join("a/b/c"))?.is_dir());
///     green::fs::remove_dir_all(&root)
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn create_dir_all<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    offload(|| std::fs::create_dir_all(path))
}

/// Removes the empty directory `path`; [`std::fs::remove_dir`], offloaded.
///
/// # Errors
/// As [`std::fs::remove_dir`], including when the directory is not empty.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("green-fs-remove-dir-{}", std::process::id()));
/// green::run(|| -> std::io::Result<()> {
///     green::fs::create_dir(&dir)?;
///     green::fs::remove_dir(&dir)?;
///     assert!(!green::fs::exists(&dir)?);
///     Ok(())
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn remove_dir<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    offload(|| std::fs::remove_dir(path))
}

/// Removes the directory `path` and everything in it; [`std::fs::remove_dir_all`], offloaded (one job for
/// the whole tree).
///
/// # Errors
/// As [`std::fs::remove_dir_all`].
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("green-fs-remove-dir-all-{}", std::process::id()));
/// green::run(|| -> std::io::Result<()> {
///     green::fs::create_dir_all(dir.join("inner"))?;
///     green::fs::write(dir.join("inner/file"), "x")?;
///     green::fs::remove_dir_all(&dir)?;
///     assert!(!green::fs::exists(&dir)?);
///     Ok(())
/// })
/// .unwrap();
/// ```
#[track_caller]
pub fn remove_dir_all<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    offload(|| std::fs::remove_dir_all(path))
}

/// The entries of the directory `path`: [`std::fs::read_dir`], read in one offloaded job.
///
/// Yields `io::Result<DirEntry>` as `std` does (an error met while reading comes as an `Err` item). Order is
/// whatever the file system returns; `.` and `..` are skipped. [`DirEntry::file_type`] needs no further call
/// (it was read with the entries); [`DirEntry::metadata`] is offloaded.
///
/// # Errors
/// As [`std::fs::read_dir`]: `path` does not exist, is not a directory, cannot be read.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("green-fs-read-dir-{}", std::process::id()));
/// green::run(|| -> std::io::Result<()> {
///     green::fs::create_dir_all(dir.join("sub"))?;
///     green::fs::write(dir.join("file.txt"), "x")?;
///     let mut names = Vec::new();
///     for entry in green::fs::read_dir(&dir)? {
///         let entry = entry?;
///         names.push((entry.file_name().into_string().unwrap(), entry.file_type()?.is_dir()));
///     }
///     names.sort();
///     assert_eq!(names, [("file.txt".to_string(), false), ("sub".to_string(), true)]);
///     green::fs::remove_dir_all(&dir)
/// })
/// .unwrap();
/// ```
pub fn read_dir<P: AsRef<Path>>(path: P) -> io::Result<ReadDir> {
    ReadDir::read(path.as_ref())
}
