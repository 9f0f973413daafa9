//! [`File`]: `std::fs::File` with every call offloaded.

use std::error::Error;
use std::fmt;
use std::fs::{FileTimes, Metadata, Permissions};
use std::io::{self, IoSlice, IoSliceMut, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::OpenOptions;
use crate::offload;

/// An open file whose calls park only the calling green thread.
///
/// Mirrors [`std::fs::File`]: [`Read`], [`Write`] and [`Seek`] (also on `&File`), so it drops into
/// [`BufReader`](std::io::BufReader) and [`BufWriter`](std::io::BufWriter) unchanged. Each call is one
/// [`offload`](fn@crate::offload) of the same call on the inner `std::fs::File`, which the job borrows (no
/// copy of your buffer). Each call therefore costs a handoff to the pool and back: wrap the file in a
/// buffer for small reads and writes. `read_to_end`, `read_to_string`, `read_exact` and `write_all` are
/// one job each, not one per chunk.
///
/// Outside a green thread the calls run inline, exactly as on `std::fs::File`.
///
/// ```
/// use std::io::{Read, Seek, SeekFrom, Write};
///
/// green::run(|| -> std::io::Result<()> {
///     let path = std::env::temp_dir().join(format!("green-file-doc-{}", std::process::id()));
///     let mut file = green::fs::File::options().read(true).write(true).create(true).truncate(true).open(&path)?;
///     file.write_all(b"hello, file")?;
///     file.seek(SeekFrom::Start(7))?;
///     let mut tail = String::new();
///     file.read_to_string(&mut tail)?;
///     assert_eq!(tail, "file");
///     green::fs::remove_file(&path)
/// })
/// .unwrap();
/// ```
pub struct File {
    /// The open file; jobs borrow it, so only `&std::fs::File` ever crosses to a pool thread.
    inner: std::fs::File,
}

impl File {
    /// Opens `path` read-only; [`std::fs::File::open`], offloaded.
    ///
    /// # Errors
    /// As [`std::fs::File::open`]: the file does not exist, permissions, ...
    ///
    /// ```
    /// use std::io::Read;
    ///
    /// # let path = std::env::temp_dir().join(format!("green-file-open-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     green::fs::write(&path, "contents")?;
    ///     let mut text = String::new();
    ///     green::fs::File::open(&path)?.read_to_string(&mut text)?;
    ///     assert_eq!(text, "contents");
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn open<P: AsRef<Path>>(path: P) -> io::Result<File> {
        let path = path.as_ref();
        offload(|| std::fs::File::open(path)).map(File::from_std)
    }

    /// Opens `path` write-only, creating or truncating it; [`std::fs::File::create`], offloaded.
    ///
    /// # Errors
    /// As [`std::fs::File::create`].
    ///
    /// ```
    /// use std::io::Write;
    ///
    /// # let path = std::env::temp_dir().join(format!("green-file-create-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     let mut file = green::fs::File::create(&path)?;
    ///     file.write_all(b"new")?;
    ///     assert_eq!(green::fs::read(&path)?, b"new");
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn create<P: AsRef<Path>>(path: P) -> io::Result<File> {
        let path = path.as_ref();
        offload(|| std::fs::File::create(path)).map(File::from_std)
    }

    /// Creates `path` read-write, failing if it exists; [`std::fs::File::create_new`], offloaded.
    ///
    /// # Errors
    /// `AlreadyExists` when `path` exists (atomically: two racing callers cannot both succeed), and as
    /// [`std::fs::File::create_new`].
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-file-create-new-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     green::fs::File::create_new(&path)?;
    ///     let again = green::fs::File::create_new(&path).unwrap_err();
    ///     assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    pub fn create_new<P: AsRef<Path>>(path: P) -> io::Result<File> {
        OpenOptions::new().read(true).write(true).create_new(true).open(path)
    }

    /// A blank [`OpenOptions`] for other ways of opening.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-file-options-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     let file = green::fs::File::options().append(true).create(true).open(&path)?;
    ///     drop(file);
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open `std::fs::File`.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-file-from-std-{}", std::process::id()));
    /// let std_file = std::fs::File::create(&path).unwrap();
    /// let file = green::fs::File::from_std(std_file); // its calls are offloaded from now on
    /// assert!(file.metadata().unwrap().is_file());
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn from_std(file: std::fs::File) -> File {
        File { inner: file }
    }

    /// The inner `std::fs::File` (whose calls block the OS thread again).
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-file-into-std-{}", std::process::id()));
    /// let file = green::fs::File::create(&path).unwrap();
    /// let std_file: std::fs::File = file.into_std();
    /// assert!(std_file.metadata().unwrap().is_file());
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn into_std(self) -> std::fs::File {
        self.inner
    }

    /// Flushes data and metadata to the device; [`std::fs::File::sync_all`], offloaded.
    ///
    /// # Errors
    /// As [`std::fs::File::sync_all`].
    ///
    /// ```
    /// use std::io::Write;
    ///
    /// # let path = std::env::temp_dir().join(format!("green-file-sync-all-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     let mut file = green::fs::File::create(&path)?;
    ///     file.write_all(b"durable")?;
    ///     file.sync_all()?; // on the device when this returns
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn sync_all(&self) -> io::Result<()> {
        offload(|| self.inner.sync_all())
    }

    /// Flushes data (not necessarily metadata) to the device; [`std::fs::File::sync_data`], offloaded.
    ///
    /// # Errors
    /// As [`std::fs::File::sync_data`].
    ///
    /// ```
    /// use std::io::Write;
    ///
    /// # let path = std::env::temp_dir().join(format!("green-file-sync-data-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     let mut file = green::fs::File::create(&path)?;
    ///     file.write_all(b"data")?;
    ///     file.sync_data()?;
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn sync_data(&self) -> io::Result<()> {
        offload(|| self.inner.sync_data())
    }

    /// Truncates or extends the file to `size` bytes; [`std::fs::File::set_len`], offloaded.
    ///
    /// # Errors
    /// As [`std::fs::File::set_len`]: the file is not open for writing, ...
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-file-set-len-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     let file = green::fs::File::create(&path)?;
    ///     file.set_len(10)?;
    ///     assert_eq!(file.metadata()?.len(), 10);
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn set_len(&self, size: u64) -> io::Result<()> {
        offload(|| self.inner.set_len(size))
    }

    /// The file's metadata; [`std::fs::File::metadata`], offloaded.
    ///
    /// # Errors
    /// As [`std::fs::File::metadata`].
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-file-metadata-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     green::fs::write(&path, "abc")?;
    ///     let metadata = green::fs::File::open(&path)?.metadata()?;
    ///     assert_eq!(metadata.len(), 3);
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn metadata(&self) -> io::Result<Metadata> {
        offload(|| self.inner.metadata())
    }

    /// Changes the file's permissions; [`std::fs::File::set_permissions`], offloaded.
    ///
    /// # Errors
    /// As [`std::fs::File::set_permissions`].
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-file-set-permissions-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     let file = green::fs::File::create(&path)?;
    ///     let mut permissions = file.metadata()?.permissions();
    ///     permissions.set_readonly(true);
    ///     file.set_permissions(permissions)?;
    ///     assert!(file.metadata()?.permissions().readonly());
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn set_permissions(&self, permissions: Permissions) -> io::Result<()> {
        offload(|| self.inner.set_permissions(permissions))
    }

    /// A second handle to the same open file (shared cursor); [`std::fs::File::try_clone`], run inline: `dup`
    /// never waits for a device.
    ///
    /// # Errors
    /// As [`std::fs::File::try_clone`] (out of file descriptors).
    ///
    /// ```
    /// use std::io::{Read, Seek, SeekFrom};
    ///
    /// # let path = std::env::temp_dir().join(format!("green-file-try-clone-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     green::fs::write(&path, "0123456789")?;
    ///     let mut file = green::fs::File::open(&path)?;
    ///     let mut clone = file.try_clone()?;
    ///     file.seek(SeekFrom::Start(8))?;
    ///     let mut rest = String::new();
    ///     clone.read_to_string(&mut rest)?; // the clone shares the cursor
    ///     assert_eq!(rest, "89");
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    pub fn try_clone(&self) -> io::Result<File> {
        self.inner.try_clone().map(File::from_std)
    }

    /// Changes the file's access and modification times; [`std::fs::File::set_times`], offloaded.
    ///
    /// # Errors
    /// As [`std::fs::File::set_times`].
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use green::fs::FileTimes;
    ///
    /// # let path = std::env::temp_dir().join(format!("green-file-set-times-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     let file = green::fs::File::create(&path)?;
    ///     let noon = SystemTime::UNIX_EPOCH + Duration::from_secs(43_200);
    ///     file.set_times(FileTimes::new().set_accessed(noon).set_modified(noon))?;
    ///     assert_eq!(file.metadata()?.modified()?, noon);
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn set_times(&self, times: FileTimes) -> io::Result<()> {
        offload(|| self.inner.set_times(times))
    }

    /// Changes the file's modification time; [`std::fs::File::set_modified`], offloaded.
    ///
    /// # Errors
    /// As [`std::fs::File::set_modified`].
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    ///
    /// # let path = std::env::temp_dir().join(format!("green-file-set-modified-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     let file = green::fs::File::create(&path)?;
    ///     let then = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    ///     file.set_modified(then)?;
    ///     assert_eq!(file.metadata()?.modified()?, then);
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn set_modified(&self, time: SystemTime) -> io::Result<()> {
        offload(|| self.inner.set_modified(time))
    }

    /// Takes an exclusive advisory lock on the file (`flock`), waiting while another holder has any lock;
    /// `std::fs::File::lock`.
    ///
    /// In a green thread it retries a non-blocking lock with sleeps growing from 1 ms to 50 ms, so only the
    /// green thread waits and the wait is a cancellation point; on an OS thread it blocks in `flock`. The lock
    /// is released by [`unlock`](File::unlock) or when the last handle to the open file is closed.
    ///
    /// # Errors
    /// As `std`'s: the file system does not support locks, ...
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-file-lock-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     let file = green::fs::File::create(&path)?;
    ///     file.lock()?;
    ///     let other = green::fs::File::open(&path)?; // another open file: another lock holder
    ///     assert!(matches!(other.try_lock_shared(), Err(green::fs::TryLockError::WouldBlock)));
    ///     file.unlock()?;
    ///     other.try_lock_shared().unwrap();
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn lock(&self) -> io::Result<()> {
        self.lock_waiting(lock::Kind::Exclusive)
    }

    /// Takes a shared advisory lock on the file, waiting while another holder has an exclusive one;
    /// `std::fs::File::lock_shared`. Waits as [`lock`](File::lock) does.
    ///
    /// # Errors
    /// As [`lock`](File::lock).
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-file-lock-shared-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     let first = green::fs::File::create(&path)?;
    ///     let second = green::fs::File::open(&path)?;
    ///     first.lock_shared()?;
    ///     second.lock_shared()?; // shared locks coexist
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn lock_shared(&self) -> io::Result<()> {
        self.lock_waiting(lock::Kind::Shared)
    }

    /// Takes an exclusive advisory lock if nobody else holds a lock; never waits. `std::fs::File::try_lock`.
    ///
    /// # Errors
    /// [`TryLockError::WouldBlock`] when another holder has a lock, [`TryLockError::Error`] otherwise.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-file-try-lock-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     let file = green::fs::File::create(&path)?;
    ///     file.try_lock().unwrap();
    ///     let other = green::fs::File::open(&path)?;
    ///     assert!(matches!(other.try_lock(), Err(green::fs::TryLockError::WouldBlock)));
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    pub fn try_lock(&self) -> Result<(), TryLockError> {
        lock::try_lock(&self.inner, lock::Kind::Exclusive)
    }

    /// Takes a shared advisory lock if nobody holds an exclusive one; never waits.
    /// `std::fs::File::try_lock_shared`.
    ///
    /// # Errors
    /// As [`try_lock`](File::try_lock).
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-file-try-lock-shared-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     let first = green::fs::File::create(&path)?;
    ///     let second = green::fs::File::open(&path)?;
    ///     first.try_lock_shared().unwrap();
    ///     second.try_lock_shared().unwrap(); // shared locks coexist
    ///     assert!(matches!(second.try_lock(), Err(green::fs::TryLockError::WouldBlock)));
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    pub fn try_lock_shared(&self) -> Result<(), TryLockError> {
        lock::try_lock(&self.inner, lock::Kind::Shared)
    }

    /// Releases this open file's advisory lock; `std::fs::File::unlock`.
    ///
    /// # Errors
    /// As `std`'s.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-file-unlock-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     let file = green::fs::File::create(&path)?;
    ///     let other = green::fs::File::open(&path)?;
    ///     file.lock()?;
    ///     file.unlock()?;
    ///     other.try_lock().unwrap(); // free again
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    pub fn unlock(&self) -> io::Result<()> {
        lock::unlock(&self.inner)
    }

    /// `lock` and `lock_shared`: poll with growing sleeps in a green thread, block on an OS thread.
    #[track_caller]
    fn lock_waiting(&self, kind: lock::Kind) -> io::Result<()> {
        if !crate::context::in_green_thread() {
            return lock::lock_blocking(&self.inner, kind);
        }
        let mut pause = Duration::from_millis(1);
        loop {
            match lock::try_lock(&self.inner, kind) {
                Ok(()) => return Ok(()),
                Err(TryLockError::Error(error)) => return Err(error),
                Err(TryLockError::WouldBlock) => {
                    crate::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
            }
        }
    }
}

/// The error of [`File::try_lock`] and [`File::try_lock_shared`]: the shape of `std::fs::TryLockError` (Rust
/// 1.89), which this crate cannot name while it supports Rust 1.80.
#[derive(Debug)]
pub enum TryLockError {
    /// The lock could not be taken for another reason.
    Error(io::Error),
    /// Another holder has a conflicting lock.
    WouldBlock,
}

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryLockError::Error(_) => "lock acquisition failed due to I/O error".fmt(f),
            TryLockError::WouldBlock => "lock acquisition failed because the operation would block".fmt(f),
        }
    }
}

impl Error for TryLockError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            TryLockError::Error(error) => Some(error),
            TryLockError::WouldBlock => None,
        }
    }
}

impl From<TryLockError> for io::Error {
    fn from(error: TryLockError) -> io::Error {
        match error {
            TryLockError::Error(error) => error,
            TryLockError::WouldBlock => io::ErrorKind::WouldBlock.into(),
        }
    }
}

/// `flock(2)`, the one system call `std` has no stable wrapper for in Rust 1.80.
#[allow(unsafe_code)]
mod lock {
    use std::io;
    use std::os::fd::AsRawFd;

    use super::TryLockError;

    /// Which lock to take.
    #[derive(Clone, Copy)]
    pub(super) enum Kind {
        /// `LOCK_SH`.
        Shared,
        /// `LOCK_EX`.
        Exclusive,
    }

    fn flock(file: &std::fs::File, operation: libc::c_int) -> io::Result<()> {
        loop {
            // SAFETY: `flock` only reads its arguments; the descriptor is open for as long as `file` is
            // borrowed.
            if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
                return Ok(());
            }
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
    }

    fn operation(kind: Kind) -> libc::c_int {
        match kind {
            Kind::Shared => libc::LOCK_SH,
            Kind::Exclusive => libc::LOCK_EX,
        }
    }

    pub(super) fn try_lock(file: &std::fs::File, kind: Kind) -> Result<(), TryLockError> {
        flock(file, operation(kind) | libc::LOCK_NB).map_err(|error| {
            if error.kind() == io::ErrorKind::WouldBlock {
                TryLockError::WouldBlock
            } else {
                TryLockError::Error(error)
            }
        })
    }

    pub(super) fn lock_blocking(file: &std::fs::File, kind: Kind) -> io::Result<()> {
        flock(file, operation(kind))
    }

    pub(super) fn unlock(file: &std::fs::File) -> io::Result<()> {
        flock(file, libc::LOCK_UN)
    }
}

impl From<std::fs::File> for File {
    fn from(file: std::fs::File) -> File {
        File::from_std(file)
    }
}

impl From<File> for std::fs::File {
    fn from(file: File) -> std::fs::File {
        file.into_std()
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File").field("inner", &self.inner).finish()
    }
}

impl Read for &File {
    #[track_caller]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut file = &self.inner;
        offload(|| file.read(buf))
    }

    #[track_caller]
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let mut file = &self.inner;
        offload(|| file.read_vectored(bufs))
    }

    #[track_caller]
    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let mut file = &self.inner;
        offload(|| file.read_to_end(buf))
    }

    #[track_caller]
    fn read_to_string(&mut self, buf: &mut String) -> io::Result<usize> {
        let mut file = &self.inner;
        offload(|| file.read_to_string(buf))
    }

    #[track_caller]
    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let mut file = &self.inner;
        offload(|| file.read_exact(buf))
    }
}

impl Write for &File {
    #[track_caller]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut file = &self.inner;
        offload(|| file.write(buf))
    }

    #[track_caller]
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let mut file = &self.inner;
        offload(|| file.write_vectored(bufs))
    }

    #[track_caller]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let mut file = &self.inner;
        offload(|| file.write_all(buf))
    }

    /// Nothing to do: a `File` keeps no buffer of its own (as `std::fs::File`).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for &File {
    #[track_caller]
    fn seek(&mut self, position: SeekFrom) -> io::Result<u64> {
        let mut file = &self.inner;
        offload(|| file.seek(position))
    }
}

impl Read for File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }

    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        (&*self).read_to_end(buf)
    }

    fn read_to_string(&mut self, buf: &mut String) -> io::Result<usize> {
        (&*self).read_to_string(buf)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        (&*self).read_exact(buf)
    }
}

impl Write for File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        (&*self).write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self).flush()
    }
}

impl Seek for File {
    fn seek(&mut self, position: SeekFrom) -> io::Result<u64> {
        (&*self).seek(position)
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for File {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for File {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.inner.as_raw_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::FromRawFd for File {
    /// Adopts an open file descriptor, as [`std::fs::File`]'s `from_raw_fd`.
    ///
    /// # Safety
    /// `fd` must be an open descriptor that nothing else owns.
    #[allow(unsafe_code)]
    unsafe fn from_raw_fd(fd: std::os::fd::RawFd) -> File {
        // SAFETY: the caller hands over ownership of an open descriptor (this function's contract).
        File::from_std(unsafe { std::fs::File::from_raw_fd(fd) })
    }
}

#[cfg(unix)]
impl std::os::fd::IntoRawFd for File {
    fn into_raw_fd(self) -> std::os::fd::RawFd {
        self.inner.into_raw_fd()
    }
}

#[cfg(unix)]
impl From<std::os::fd::OwnedFd> for File {
    /// Adopts an owned descriptor, as `std::fs::File` does.
    fn from(fd: std::os::fd::OwnedFd) -> File {
        File::from_std(std::fs::File::from(fd))
    }
}

#[cfg(unix)]
impl From<File> for std::os::fd::OwnedFd {
    fn from(file: File) -> std::os::fd::OwnedFd {
        file.inner.into()
    }
}

/// Positioned reads and writes (`pread`/`pwrite`), each offloaded; they do not move the file's cursor.
///
/// ```
/// use std::os::unix::fs::FileExt;
///
/// # let path = std::env::temp_dir().join(format!("green-file-ext-{}", std::process::id()));
/// green::run(|| -> std::io::Result<()> {
///     let file = green::fs::File::options().read(true).write(true).create(true).truncate(true).open(&path)?;
///     file.write_all_at(b"hello world", 0)?;
///     let mut word = [0; 5];
///     file.read_exact_at(&mut word, 6)?;
///     assert_eq!(&word, b"world");
///     green::fs::remove_file(&path)
/// })
/// .unwrap();
/// ```
#[cfg(unix)]
impl std::os::unix::fs::FileExt for File {
    #[track_caller]
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        offload(|| self.inner.read_at(buf, offset))
    }

    #[track_caller]
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        offload(|| self.inner.write_at(buf, offset))
    }

    /// One job for the whole read.
    #[track_caller]
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        offload(|| self.inner.read_exact_at(buf, offset))
    }

    /// One job for the whole write.
    #[track_caller]
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        offload(|| self.inner.write_all_at(buf, offset))
    }
}
