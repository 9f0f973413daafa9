//! [`OpenOptions`]: how to open a [`File`], as `std::fs::OpenOptions`, with the open offloaded.

use std::io;
use std::path::Path;

use super::File;
use crate::offload;

/// Options for opening a [`File`]: [`std::fs::OpenOptions`] with [`open`](OpenOptions::open) offloaded.
///
/// The Unix options (`mode`, `custom_flags`) come with `std::os::unix::fs::OpenOptionsExt`, implemented here
/// too; or set anything on a `std::fs::OpenOptions` and convert it with `From`.
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
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-options-new-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     let mut options = green::fs::OpenOptions::new();
    ///     options.write(true).create(true);
    ///     let file = options.open(&path)?;
    ///     drop(file);
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    pub fn new() -> OpenOptions {
        OpenOptions { inner: std::fs::OpenOptions::new() }
    }

    /// Opens for reading.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-options-read-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     green::fs::write(&path, "x")?;
    ///     let file = green::fs::OpenOptions::new().read(true).open(&path)?;
    ///     assert_eq!(std::io::read_to_string(&file)?, "x");
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.inner.read(read);
        self
    }

    /// Opens for writing.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-options-write-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     green::fs::write(&path, "abc")?;
    ///     let mut file = green::fs::OpenOptions::new().write(true).open(&path)?;
    ///     std::io::Write::write_all(&mut file, b"X")?; // overwrites from the start, no truncation
    ///     assert_eq!(green::fs::read_to_string(&path)?, "Xbc");
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.inner.write(write);
        self
    }

    /// Opens for appending: every write goes to the end.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-options-append-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     green::fs::write(&path, "log: ")?;
    ///     let mut file = green::fs::OpenOptions::new().append(true).open(&path)?;
    ///     std::io::Write::write_all(&mut file, b"started")?;
    ///     assert_eq!(green::fs::read_to_string(&path)?, "log: started");
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.inner.append(append);
        self
    }

    /// Truncates an existing file to length 0 (needs `write`).
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-options-truncate-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     green::fs::write(&path, "old contents")?;
    ///     green::fs::OpenOptions::new().write(true).truncate(true).open(&path)?;
    ///     assert_eq!(green::fs::metadata(&path)?.len(), 0);
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.inner.truncate(truncate);
        self
    }

    /// Creates the file if it does not exist (needs `write` or `append`).
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-options-create-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     green::fs::OpenOptions::new().write(true).create(true).open(&path)?;
    ///     assert!(green::fs::exists(&path)?);
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.inner.create(create);
        self
    }

    /// Creates the file, failing if it exists (needs `write` or `append`).
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-options-create-new-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     green::fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
    ///     let again = green::fs::OpenOptions::new().write(true).create_new(true).open(&path);
    ///     assert_eq!(again.unwrap_err().kind(), std::io::ErrorKind::AlreadyExists);
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.inner.create_new(create_new);
        self
    }

    /// Opens `path` with these options; [`std::fs::OpenOptions::open`], offloaded.
    ///
    /// # Errors
    /// As [`std::fs::OpenOptions::open`]: invalid combinations, a missing file without `create`, an existing
    /// one with `create_new`, permissions, ...
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-options-open-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     let file = green::fs::OpenOptions::new().read(true).write(true).create(true).open(&path)?;
    ///     assert!(file.metadata()?.is_file());
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
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

#[cfg(unix)]
impl std::os::unix::fs::OpenOptionsExt for OpenOptions {
    /// The permission bits of a file created by `open` (before the umask), as `std`'s.
    ///
    /// ```
    /// use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    ///
    /// # let path = std::env::temp_dir().join(format!("green-options-mode-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     let file = green::fs::OpenOptions::new().write(true).create(true).mode(0o600).open(&path)?;
    ///     assert_eq!(file.metadata()?.permissions().mode() & 0o777, 0o600);
    ///     green::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        std::os::unix::fs::OpenOptionsExt::mode(&mut self.inner, mode);
        self
    }

    /// Extra `open(2)` flags, as `std`'s (`O_NONBLOCK` has no effect on regular files).
    fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut self.inner, flags);
        self
    }
}
