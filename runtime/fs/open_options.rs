//! [`OpenOptions`]: how to open a [`File`], as `std::fs::OpenOptions`, with the open offloaded.

use std::io;
use std::path::Path;

use super::File;
use crate::offload;

/// Options for opening a [`File`]: [`std::fs::OpenOptions`] with [`open`](OpenOptions::open) offloaded.
///
/// For platform-specific options (`mode`, `custom_flags`), set them on a `std::fs::OpenOptions` and convert
/// it with `From`.
///
/// ```
/// green::run(|| -> std::io::Result<()> {
///     let path = std::env::temp_dir().join(format!("green-options-doc-{}", std::process::id()));
///     let file = green::fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
///     drop(file);
///     green::fs::remove_file(&path)
/// })
/// .unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// The options themselves; only `open` differs from std.
    inner: std::fs::OpenOptions,
}

impl OpenOptions {
    /// All options off, as [`std::fs::OpenOptions::new`].
    pub fn new() -> OpenOptions {
        OpenOptions { inner: std::fs::OpenOptions::new() }
    }

    /// Opens for reading.
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.inner.read(read);
        self
    }

    /// Opens for writing.
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.inner.write(write);
        self
    }

    /// Opens for appending: every write goes to the end.
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.inner.append(append);
        self
    }

    /// Truncates an existing file to length 0 (needs `write`).
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.inner.truncate(truncate);
        self
    }

    /// Creates the file if it does not exist (needs `write` or `append`).
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.inner.create(create);
        self
    }

    /// Creates the file, failing if it exists (needs `write` or `append`).
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.inner.create_new(create_new);
        self
    }

    /// Opens `path` with these options; [`std::fs::OpenOptions::open`], offloaded.
    ///
    /// # Errors
    /// As [`std::fs::OpenOptions::open`]: invalid combinations, a missing file without `create`, an existing
    /// one with `create_new`, permissions, ...
    pub fn open<P: AsRef<Path>>(&self, path: P) -> io::Result<File> {
        let (options, path) = (&self.inner, path.as_ref());
        offload(|| options.open(path)).map(File::from_std)
    }
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions::new()
    }
}

impl From<std::fs::OpenOptions> for OpenOptions {
    fn from(options: std::fs::OpenOptions) -> OpenOptions {
        OpenOptions { inner: options }
    }
}
