//! [`File`]: `std::fs::File` with every call offloaded.

use std::fmt;
use std::fs::{Metadata, Permissions};
use std::io::{self, IoSlice, IoSliceMut, Read, Seek, SeekFrom, Write};
use std::path::Path;

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
    pub fn open<P: AsRef<Path>>(path: P) -> io::Result<File> {
        let path = path.as_ref();
        offload(|| std::fs::File::open(path)).map(File::from_std)
    }

    /// Opens `path` write-only, creating or truncating it; [`std::fs::File::create`], offloaded.
    ///
    /// # Errors
    /// As [`std::fs::File::create`].
    pub fn create<P: AsRef<Path>>(path: P) -> io::Result<File> {
        let path = path.as_ref();
        offload(|| std::fs::File::create(path)).map(File::from_std)
    }

    /// A blank [`OpenOptions`] for other ways of opening.
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open `std::fs::File`.
    pub fn from_std(file: std::fs::File) -> File {
        File { inner: file }
    }

    /// The inner `std::fs::File` (whose calls block the OS thread again).
    pub fn into_std(self) -> std::fs::File {
        self.inner
    }

    /// Flushes data and metadata to the device; [`std::fs::File::sync_all`], offloaded.
    ///
    /// # Errors
    /// As [`std::fs::File::sync_all`].
    pub fn sync_all(&self) -> io::Result<()> {
        offload(|| self.inner.sync_all())
    }

    /// Flushes data (not necessarily metadata) to the device; [`std::fs::File::sync_data`], offloaded.
    ///
    /// # Errors
    /// As [`std::fs::File::sync_data`].
    pub fn sync_data(&self) -> io::Result<()> {
        offload(|| self.inner.sync_data())
    }

    /// Truncates or extends the file to `size` bytes; [`std::fs::File::set_len`], offloaded.
    ///
    /// # Errors
    /// As [`std::fs::File::set_len`]: the file is not open for writing, ...
    pub fn set_len(&self, size: u64) -> io::Result<()> {
        offload(|| self.inner.set_len(size))
    }

    /// The file's metadata; [`std::fs::File::metadata`], offloaded.
    ///
    /// # Errors
    /// As [`std::fs::File::metadata`].
    pub fn metadata(&self) -> io::Result<Metadata> {
        offload(|| self.inner.metadata())
    }

    /// Changes the file's permissions; [`std::fs::File::set_permissions`], offloaded.
    ///
    /// # Errors
    /// As [`std::fs::File::set_permissions`].
    pub fn set_permissions(&self, permissions: Permissions) -> io::Result<()> {
        offload(|| self.inner.set_permissions(permissions))
    }

    /// A second handle to the same open file (shared cursor); [`std::fs::File::try_clone`], run inline: `dup`
    /// never waits for a device.
    ///
    /// # Errors
    /// As [`std::fs::File::try_clone`] (out of file descriptors).
    pub fn try_clone(&self) -> io::Result<File> {
        self.inner.try_clone().map(File::from_std)
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
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut file = &self.inner;
        offload(|| file.read(buf))
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let mut file = &self.inner;
        offload(|| file.read_vectored(bufs))
    }

    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let mut file = &self.inner;
        offload(|| file.read_to_end(buf))
    }

    fn read_to_string(&mut self, buf: &mut String) -> io::Result<usize> {
        let mut file = &self.inner;
        offload(|| file.read_to_string(buf))
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let mut file = &self.inner;
        offload(|| file.read_exact(buf))
    }
}

impl Write for &File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut file = &self.inner;
        offload(|| file.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let mut file = &self.inner;
        offload(|| file.write_vectored(bufs))
    }

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
