//! [`DirBuilder`]: `std::fs::DirBuilder` with `create` offloaded.

use std::io;
use std::path::Path;

use crate::offload;

/// Creates directories with options: [`std::fs::DirBuilder`] with [`create`](DirBuilder::create) offloaded.
///
/// ```
/// # let root = std::env::temp_dir().join(format!("green-fs-dir-builder-{}", std::process::id()));
/// use green::fs::DirBuilder;
///
/// green::run(|| -> std::io::Result<()> {
///     DirBuilder::new().recursive(true).create(root.join("a/b"))?;
///     assert!(green::fs::metadata(root.join("a/b"))?.is_dir());
///     green::fs::remove_dir_all(&root)
/// })
/// .unwrap();
/// ```
#[derive(Debug)]
pub struct DirBuilder {
    /// The options; only `create` differs from std.
    inner: std::fs::DirBuilder,
}

impl DirBuilder {
    /// A builder that creates one directory (not its parents), with the default mode.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("green-dir-builder-new-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     green::fs::DirBuilder::new().create(&dir)?;
    ///     assert!(green::fs::metadata(&dir)?.is_dir());
    ///     green::fs::remove_dir(&dir)
    /// })
    /// .unwrap();
    /// ```
    pub fn new() -> DirBuilder {
        DirBuilder { inner: std::fs::DirBuilder::new() }
    }

    /// Whether missing parent directories are created too (and an existing directory is no error).
    ///
    /// ```
    /// # let root = std::env::temp_dir().join(format!("green-dir-builder-recursive-{}", std::process::id()));
    /// green::run(|| -> std::io::Result<()> {
    ///     let mut builder = green::fs::DirBuilder::new();
    ///     assert!(builder.create(root.join("a/b")).is_err()); // `a` is missing
    ///     builder.recursive(true).create(root.join("a/b"))?;
    ///     builder.create(root.join("a/b"))?; // recursive: existing is fine
    ///     green::fs::remove_dir_all(&root)
    /// })
    /// .unwrap();
    /// ```
    pub fn recursive(&mut self, recursive: bool) -> &mut DirBuilder {
        self.inner.recursive(recursive);
        self
    }

    /// Creates `path` with these options; [`std::fs::DirBuilder::create`], offloaded.
    ///
    /// # Errors
    /// As `std`'s: it exists (unless recursive), a parent is missing (unless recursive), permissions, ...
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("green-dir-builder-create-{}", std::process::id()));
    /// use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    ///
    /// green::run(|| -> std::io::Result<()> {
    ///     green::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    ///     assert_eq!(green::fs::metadata(&dir)?.permissions().mode() & 0o777, 0o700);
    ///     green::fs::remove_dir(&dir)
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn create<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        let (builder, path) = (&self.inner, path.as_ref());
        offload(|| builder.create(path))
    }
}

impl Default for DirBuilder {
    fn default() -> DirBuilder {
        DirBuilder::new()
    }
}

#[cfg(unix)]
impl std::os::unix::fs::DirBuilderExt for DirBuilder {
    /// The permission bits of the directories created (before the umask), as `std`'s.
    fn mode(&mut self, mode: u32) -> &mut DirBuilder {
        std::os::unix::fs::DirBuilderExt::mode(&mut self.inner, mode);
        self
    }
}
