//! Runs an example binary as a child process for the `example_*` tests.
//!
//! Cargo builds examples before the integration tests on a plain `cargo test`, into
//! `target/<profile>/examples/`, next to this test binary's `target/<profile>/deps/`. With a target filter
//! (`cargo test --test example_echo`) it does not: then, or when the binary is older than its sources, the
//! helper builds it with `cargo build --example`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::SystemTime;

/// A running example, killed when dropped.
pub struct Example {
    /// The child process.
    process: Child,
    /// Its standard output, after the lines already read.
    pub stdout: BufReader<ChildStdout>,
}

impl Example {
    /// Starts example `name` with `args`, standard output piped.
    pub fn start(name: &str, args: &[&str]) -> Example {
        let mut process = Command::new(path(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start example {name}: {error}"));
        let stdout = BufReader::new(process.stdout.take().unwrap());
        Example { process, stdout }
    }

    /// Starts server example `name` on a free loopback port (`--addr 127.0.0.1:0` and `args`) and returns it
    /// with the address from its first line, `listening on <address>`.
    pub fn server(name: &str, args: &[&str]) -> (Example, SocketAddr) {
        let mut all = vec!["--addr", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let mut example = Example::start(name, &all);
        let line = example.line();
        let address = line
            .strip_prefix("listening on ")
            .and_then(|address| address.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name}: expected `listening on <address>`, got {line:?}"));
        (example, address)
    }

    /// The next line of standard output (panics at end of file).
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        let read = self.stdout.read_line(&mut line).expect("read the example's output");
        assert!(read > 0, "the example ended its output early");
        line
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Runs example `name` with `args` to completion and returns its output (standard error inherited).
pub fn run(name: &str, args: &[&str]) -> Output {
    Command::new(path(name))
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|error| panic!("cannot run example {name}: {error}"))
}

/// The path of example `name`'s binary, built first if missing or stale.
pub fn path(name: &str) -> PathBuf {
    // target/<profile>/deps/<this test> -> target/<profile>
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
    let binary = profile_dir.join("examples").join(name);
    /// One cargo invocation at a time per test binary.
    static BUILDING: Mutex<()> = Mutex::new(());
    let _building = BUILDING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let stale = match modified(&binary) {
        Some(built) => built < newest_source(name),
        None => true,
    };
    if stale {
        build(name, profile_dir);
    }
    binary
}

/// Runs `cargo build --example name` for the profile and target directory of this test binary.
fn build(name: &str, profile_dir: &Path) {
    let mut command = Command::new(option_env!("CARGO").unwrap_or("cargo"));
    command.current_dir(env!("CARGO_MANIFEST_DIR")).args(["build", "--quiet", "--example", name]);
    match profile_dir.file_name().and_then(|profile| profile.to_str()) {
        Some("debug") => {}
        Some("release") => {
            command.arg("--release");
        }
        Some(profile) => {
            command.args(["--profile", profile]);
        }
        None => panic!("unexpected target directory layout: {profile_dir:?}"),
    }
    command.arg("--target-dir").arg(profile_dir.parent().unwrap());
    let status = command.status().expect("run cargo build --example");
    assert!(status.success(), "cargo build --example {name} failed");
}

/// The newest modification time of the example's source, the library's sources and the manifest.
fn newest_source(name: &str) -> SystemTime {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut newest = SystemTime::UNIX_EPOCH;
    let mut visit = vec![root.join("runtime")];
    for file in [root.join("examples").join(format!("{name}.rs")), root.join("Cargo.toml")] {
        newest = newest.max(modified(&file).unwrap_or(newest));
    }
    while let Some(directory) = visit.pop() {
        for entry in std::fs::read_dir(directory).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                visit.push(path);
            } else {
                newest = newest.max(modified(&path).unwrap_or(newest));
            }
        }
    }
    newest
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|metadata| metadata.modified()).ok()
}
