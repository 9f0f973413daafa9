//! `green::fs`: the std::fs calls and `File` through offload, round trips in a temporary directory.

mod util;

use std::io::{BufRead, BufReader, BufWriter, ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use util::{runtime, watchdog};

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("green-fs-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn write_read_metadata_read_dir_and_remove() {
    watchdog(Duration::from_secs(30), || {
        let dir = TempDir::new("functions");
        let rt = runtime(1);
        rt.block_on(|| {
            let nested = dir.path().join("a/b/c");
            green::fs::create_dir_all(&nested).unwrap();
            assert!(green::fs::metadata(&nested).unwrap().is_dir());

            let file = nested.join("hello.txt");
            green::fs::write(&file, "hello, green").unwrap();
            assert_eq!(green::fs::read(&file).unwrap(), b"hello, green");
            assert_eq!(green::fs::read_to_string(&file).unwrap(), "hello, green");
            let metadata = green::fs::metadata(&file).unwrap();
            assert!(metadata.is_file());
            assert_eq!(metadata.len(), 12);

            green::fs::copy(&file, nested.join("copy.txt")).unwrap();
            green::fs::rename(nested.join("copy.txt"), nested.join("moved.txt")).unwrap();
            let mut names: Vec<String> = green::fs::read_dir(&nested)
                .unwrap()
                .map(|entry| entry.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            assert_eq!(names, ["hello.txt", "moved.txt"]);

            green::fs::remove_file(&file).unwrap();
            assert_eq!(green::fs::metadata(&file).unwrap_err().kind(), ErrorKind::NotFound);
            assert_eq!(green::fs::read(&file).unwrap_err().kind(), ErrorKind::NotFound);
            green::fs::remove_dir_all(dir.path().join("a")).unwrap();
            assert_eq!(green::fs::read_dir(dir.path()).unwrap().count(), 0);
        });
    });
}

#[test]
fn file_with_bufwriter_bufreader_and_seek() {
    watchdog(Duration::from_secs(30), || {
        let dir = TempDir::new("file");
        let path = dir.path().join("lines.txt");
        let rt = runtime(1);
        rt.block_on(|| {
            let mut out = BufWriter::new(green::fs::File::create(&path).unwrap());
            for i in 0..1000 {
                writeln!(out, "line {i}").unwrap();
            }
            out.into_inner().unwrap().sync_all().unwrap();

            let reader = BufReader::new(green::fs::File::open(&path).unwrap());
            let lines: Vec<String> = reader.lines().collect::<Result<_, _>>().unwrap();
            assert_eq!(lines.len(), 1000);
            assert!(lines.iter().enumerate().all(|(i, line)| *line == format!("line {i}")));

            let mut file = green::fs::File::options().read(true).write(true).open(&path).unwrap();
            let length = file.seek(SeekFrom::End(0)).unwrap();
            assert_eq!(length, std::fs::metadata(&path).unwrap().len());
            file.seek(SeekFrom::Start(5)).unwrap();
            file.write_all(b"ZERO").unwrap(); // over bytes 5..9 of "line 0\nline 1\n"
            file.seek(SeekFrom::Start(0)).unwrap();
            let mut head = [0u8; 10];
            file.read_exact(&mut head).unwrap();
            assert_eq!(&head, b"line ZEROn");
            assert_eq!(file.stream_position().unwrap(), 10);

            file.set_len(4).unwrap();
            assert_eq!(file.metadata().unwrap().len(), 4);
            file.rewind().unwrap();
            let mut rest = String::new();
            file.read_to_string(&mut rest).unwrap();
            assert_eq!(rest, "line");

            let mut appender = green::fs::OpenOptions::new().append(true).open(&path).unwrap();
            appender.write_all(b"s!").unwrap();
            assert_eq!(green::fs::read_to_string(&path).unwrap(), "lines!");

            let exists = green::fs::OpenOptions::new().write(true).create_new(true).open(&path);
            assert_eq!(exists.unwrap_err().kind(), ErrorKind::AlreadyExists);
            let missing = green::fs::File::open(dir.path().join("missing"));
            assert_eq!(missing.unwrap_err().kind(), ErrorKind::NotFound);
        });
    });
}

#[test]
fn a_shared_file_reference_reads_and_a_clone_shares_the_cursor() {
    watchdog(Duration::from_secs(30), || {
        let dir = TempDir::new("shared");
        let path = dir.path().join("data.bin");
        std::fs::write(&path, (0..=255u8).collect::<Vec<_>>()).unwrap();
        green::run(|| {
            let file = green::fs::File::open(&path).unwrap();
            let clone = file.try_clone().unwrap();
            let mut first = [0u8; 100];
            (&file).read_exact(&mut first).unwrap();
            let mut rest = Vec::new();
            (&clone).read_to_end(&mut rest).unwrap();
            assert_eq!(first.to_vec(), (0..100u8).collect::<Vec<_>>());
            assert_eq!(rest, (100..=255u8).collect::<Vec<_>>());
        });
    });
}

#[test]
fn fs_calls_work_on_a_plain_os_thread() {
    watchdog(Duration::from_secs(30), || {
        let dir = TempDir::new("os-thread");
        let path = dir.path().join("plain.txt");
        green::fs::write(&path, b"no runtime here").unwrap();
        let mut text = String::new();
        green::fs::File::open(&path).unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "no runtime here");
    });
}

#[test]
fn many_green_threads_write_and_read_their_own_files() {
    watchdog(Duration::from_secs(60), || {
        let dir = TempDir::new("many");
        let root = dir.path().to_path_buf();
        let rt = runtime(2);
        let checksum = rt.block_on(move || {
            let handles: Vec<_> = (0..100u64)
                .map(|i| {
                    let path = root.join(format!("file-{i}"));
                    green::spawn(move || {
                        let contents: Vec<u8> = (0..1000).map(|j| ((i * 31 + j) % 251) as u8).collect();
                        let mut file = BufWriter::new(green::fs::File::create(&path).unwrap());
                        for chunk in contents.chunks(64) {
                            file.write_all(chunk).unwrap();
                        }
                        file.flush().unwrap();
                        drop(file);
                        let back = green::fs::read(&path).unwrap();
                        assert_eq!(back, contents);
                        back.iter().map(|&b| b as u64).sum::<u64>()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
        });
        let expected: u64 = (0..100u64).flat_map(|i| (0..1000).map(move |j| (i * 31 + j) % 251)).sum();
        assert_eq!(checksum, expected);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 100);
    });
}

#[test]
fn read_dir_has_std_shape_and_entries_match_std() {
    watchdog(Duration::from_secs(60), || {
        let dir = TempDir::new("read-dir-shape");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("file"), "12345").unwrap();
        std::os::unix::fs::symlink("file", dir.path().join("link")).unwrap();
        let rt = runtime(2);
        let path = dir.path().to_path_buf();
        rt.block_on(move || {
            // The same loop as over `std::fs::read_dir`: `io::Result<ReadDir>` of `io::Result<DirEntry>`.
            let listing: std::io::Result<green::fs::ReadDir> = green::fs::read_dir(&path);
            let mut green_entries = Vec::new();
            for entry in listing.unwrap() {
                let entry: green::fs::DirEntry = entry.unwrap();
                let kind = kind(entry.file_type().unwrap());
                let inode = std::os::unix::fs::DirEntryExt::ino(&entry);
                green_entries.push((entry.file_name(), entry.path(), kind, entry.metadata().unwrap().len(), inode));
            }
            green_entries.sort();
            let mut std_entries: Vec<_> = std::fs::read_dir(&path)
                .unwrap()
                .map(|entry| {
                    let entry = entry.unwrap();
                    let inode = std::os::unix::fs::DirEntryExt::ino(&entry);
                    (
                        entry.file_name(),
                        entry.path(),
                        kind(entry.file_type().unwrap()),
                        entry.metadata().unwrap().len(),
                        inode,
                    )
                })
                .collect();
            std_entries.sort();
            assert_eq!(green_entries, std_entries);
            assert_eq!(green_entries.iter().map(|entry| entry.2).collect::<Vec<_>>(), ["file", "symlink", "dir"]);
            assert_eq!(format!("{:?}", green::fs::read_dir(path.join("sub")).unwrap().next().map(|_| ())), "None");
            // Errors as std's: a missing directory fails at `read_dir`, not while iterating.
            let missing = green::fs::read_dir(path.join("missing")).unwrap_err();
            assert_eq!(missing.kind(), std::fs::read_dir(path.join("missing")).unwrap_err().kind());
            let not_a_directory = green::fs::read_dir(path.join("file")).unwrap_err().raw_os_error();
            assert_eq!(not_a_directory, std::fs::read_dir(path.join("file")).unwrap_err().raw_os_error());
        });
    });
}

/// A file type as a word, for comparing listings.
fn kind(file_type: std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "dir"
    } else if file_type.is_symlink() {
        "symlink"
    } else {
        "file"
    }
}
