//! The report's mini-redis section: `redis-benchmark -t set,get -c 50`, without pipelining and with 16
//! commands per round trip (`-P 16`), against the `mini_redis` example and against a real `redis-server` on
//! the same machine, requests per second side by side with the ratio.
//!
//! Self-contained: [`tables`] builds the example (bench profile), starts both servers on free loopback
//! ports, runs the benchmarks and stops the servers. When `redis-benchmark` or `redis-server` is not
//! installed (Debian packages redis-tools and redis-server) it returns `Err` with a note saying so, and the
//! report goes on without the section.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::render::{Row, Table, Unit};

/// Requests per `redis-benchmark` run (per command).
const REQUESTS: &str = "200000";
/// Concurrent client connections.
const CLIENTS: &str = "50";

/// A server process, killed when dropped.
struct Server {
    /// The process.
    child: Child,
    /// Its port on 127.0.0.1.
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Measures the section: one table per (command, pipeline depth), rows `green` (mini_redis) and
/// `redis-server`. `Err` says why the section was skipped.
pub fn tables() -> Result<Vec<Table>, String> {
    for tool in ["redis-benchmark", "redis-server"] {
        let found = Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
        if !found.is_ok_and(|status| status.success()) {
            return Err(format!(
                "mini-redis section skipped: `{tool}` is not installed (Debian: apt-get install redis-tools \
                 redis-server)"
            ));
        }
    }
    let version = Command::new("redis-server").arg("--version").output().map_err(|e| e.to_string())?;
    let version = String::from_utf8_lossy(&version.stdout).split_whitespace().nth(2).unwrap_or("?").to_string();
    let mini_redis = start_mini_redis()?;
    let redis_server = start_redis_server()?;
    let mut tables = Vec::new();
    for pipeline in ["1", "16"] {
        let green = benchmark(mini_redis.port, pipeline)?;
        let redis = benchmark(redis_server.port, pipeline)?;
        for (index, command) in ["SET", "GET"].iter().enumerate() {
            eprintln!(
                "mini-redis {command} -P {pipeline}: mini_redis {:.0}/s, redis-server {:.0}/s",
                green[index], redis[index]
            );
            tables.push(Table {
                key: format!("redis {command} -P {pipeline}"),
                title: format!("mini-redis: {command}, {pipeline} command(s) per round trip"),
                description: format!(
                    "`redis-benchmark -t set,get -n {REQUESTS} -c {CLIENTS} -P {pipeline}` against the `mini_redis` \
                     example (green) and redis-server {version} (single-threaded, persistence off) on the same \
                     machine, one run each; the benchmark client shares the cores with the server."
                ),
                unit: Unit::Rate("request"),
                rows: vec![
                    Row::new("green", Ok(green[index])).with_note("examples/mini_redis.rs"),
                    Row::new("redis-server", Ok(redis[index])),
                ],
            });
        }
    }
    Ok(tables)
}

/// Runs `redis-benchmark -t set,get` against `port`; returns the SET and GET requests per second.
fn benchmark(port: u16, pipeline: &str) -> Result<[f64; 2], String> {
    let output = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-t", "set,get", "-n", REQUESTS, "-c", CLIENTS])
        .args(["-P", pipeline, "--csv"])
        .output()
        .map_err(|error| format!("redis-benchmark: {error}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    // CSV lines: "SET","147275.41","0.327",...
    let rate = |command: &str| {
        text.lines()
            .find(|line| line.starts_with(&format!("\"{command}\"")))
            .and_then(|line| line.split(',').nth(1)?.trim_matches('"').parse::<f64>().ok())
            .ok_or_else(|| format!("no {command} result from redis-benchmark on port {port}: {text}"))
    };
    Ok([rate("SET")?, rate("GET")?])
}

/// Builds the `mini_redis` example in this binary's profile and starts it on a free port.
fn start_mini_redis() -> Result<Server, String> {
    // target/<profile dir>/deps/report-<hash> -> target/<profile dir>
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let profile_dir: PathBuf = exe.parent().and_then(Path::parent).ok_or("unexpected target layout")?.into();
    let target_dir = profile_dir.parent().ok_or("unexpected target layout")?;
    let profile = if cfg!(debug_assertions) { "dev" } else { "bench" };
    let status = Command::new(option_env!("CARGO").unwrap_or("cargo"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--quiet", "--example", "mini_redis", "--profile", profile, "--target-dir"])
        .arg(target_dir)
        .status()
        .map_err(|error| format!("cargo build --example mini_redis: {error}"))?;
    if !status.success() {
        return Err("cargo build --example mini_redis failed".into());
    }
    let mut child = Command::new(profile_dir.join("examples").join("mini_redis"))
        .args(["--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|error| format!("start mini_redis: {error}"))?;
    let mut line = String::new();
    let _ = BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line);
    let port = line.trim().rsplit(':').next().and_then(|port| port.parse().ok());
    let server = Server { child, port: port.unwrap_or(0) };
    match port {
        Some(_) => Ok(server),
        None => Err(format!("mini_redis did not start (said {line:?})")),
    }
}

/// Starts `redis-server` on a free port, persistence off, and waits until it answers.
fn start_redis_server() -> Result<Server, String> {
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|error| format!("start redis-server: {error}"))?;
    let server = Server { child, port };
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if start.elapsed() > Duration::from_secs(10) {
            return Err("redis-server did not start listening within 10 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(server)
}
