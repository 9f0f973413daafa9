//! The `echo_server` and `echo_client` examples, run as child processes and talked to over loopback.

mod example_process;
mod util;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use example_process::Example;

/// 50 clients at once, each sending messages of varied sizes (1 byte to 8 KiB) and reading each echo back
/// before the next: every byte comes back unchanged, and the checksums of all traffic agree.
#[test]
fn echo_server_round_trips_with_fifty_concurrent_clients() {
    example_process::watchdog("echo_server", Duration::from_secs(60), || {
        let (_server, address) = Example::server("echo_server", &["--workers", "2"]);
        let clients: Vec<_> = (0..50u64)
            .map(|client| {
                std::thread::spawn(move || {
                    let mut stream = TcpStream::connect(address).unwrap();
                    let (mut sent, mut received) = (0u64, 0u64);
                    for round in 0..40u64 {
                        let size = 1 + ((client * 7919 + round * 104_729) % 8192) as usize;
                        let message: Vec<u8> = (0..size).map(|i| (i as u64 ^ client ^ round) as u8).collect();
                        stream.write_all(&message).unwrap();
                        let mut echo = vec![0; size];
                        stream.read_exact(&mut echo).unwrap();
                        assert_eq!(echo, message, "client {client}, round {round}");
                        sent += checksum(&message);
                        received += checksum(&echo);
                    }
                    // Closing our side ends the server's loop: it closes too, with nothing left over.
                    stream.shutdown(std::net::Shutdown::Write).unwrap();
                    let mut rest = Vec::new();
                    stream.read_to_end(&mut rest).unwrap();
                    assert!(rest.is_empty());
                    (sent, received)
                })
            })
            .collect();
        let (mut sent, mut received) = (0, 0);
        for client in clients {
            let (s, r) = client.join().unwrap();
            sent += s;
            received += r;
        }
        assert_eq!(sent, received);
        assert!(sent > 0);
    });
}

/// The load generator runs for one second against the server and reports a positive rate and latencies.
#[test]
fn echo_client_measures_echo_server() {
    example_process::path("echo_client"); // built before the watchdog starts: slow, not a hang
    example_process::watchdog("echo_server", Duration::from_secs(60), || {
        let (_server, address) = Example::server("echo_server", &[]);
        let address = address.to_string();
        let args = ["--addr", &address, "--connections", "20", "--seconds", "1", "--size", "64"];
        let output = example_process::run("echo_client", &args);
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(output.status.success(), "echo_client failed: {stdout}");
        let rate: f64 = stdout
            .lines()
            .find_map(|line| line.strip_prefix("requests/s: "))
            .unwrap_or_else(|| panic!("no requests/s line in {stdout:?}"))
            .parse()
            .unwrap();
        assert!(rate > 0.0, "{stdout}");
        assert!(stdout.contains("latency p50: ") && stdout.contains("p99: "), "{stdout}");
    });
}

/// Fletcher-like checksum that notices reordered bytes.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().enumerate().map(|(i, &b)| (i as u64 + 1) * u64::from(b)).sum()
}

/// A connection silent for the idle timeout (half a second here) is closed by the server; one that talks
/// stays open.
#[test]
fn echo_server_closes_idle_connections() {
    example_process::watchdog("echo_server", Duration::from_secs(30), || {
        let (_server, address) = Example::server("echo_server", &["--idle-timeout", "0.5"]);
        let mut idle = TcpStream::connect(address).unwrap();
        idle.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let start = std::time::Instant::now();
        let mut rest = Vec::new();
        idle.read_to_end(&mut rest).expect("a clean close");
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(400) && waited < Duration::from_secs(10), "{waited:?}");
    });
}

/// 150 slowloris connections (a byte every half second, never reading) against a server limited to 64
/// descriptors: normal clients keep being served.
#[test]
fn echo_server_survives_slowloris_under_a_low_descriptor_limit() {
    example_process::watchdog("echo_server", Duration::from_secs(60), || {
        let (_server, address) =
            Example::server_with_file_limit("echo_server", &["--workers", "1"], example_process::SLOWLORIS_FILE_LIMIT);
        example_process::assert_survives_slowloris(address, b"x", b'x', |address| {
            let mut client = TcpStream::connect(address)?;
            client.set_read_timeout(Some(Duration::from_secs(5)))?;
            client.write_all(b"ping")?;
            let mut reply = [0; 4];
            client.read_exact(&mut reply)?;
            assert_eq!(&reply, b"ping");
            Ok(())
        });
    });
}

/// `--processes 2`: two processes listen on one port (each prints the same address) and clients are served.
#[test]
fn echo_server_scales_out_to_processes_sharing_the_port() {
    example_process::watchdog("echo_server", Duration::from_secs(30), || {
        let (mut server, address) = Example::server("echo_server", &["--processes", "2", "--workers", "1"]);
        assert_eq!(server.line().trim(), format!("listening on {address}"));
        for _ in 0..20 {
            let mut client = TcpStream::connect(address).unwrap();
            client.write_all(b"hello").unwrap();
            let mut reply = [0; 5];
            client.read_exact(&mut reply).unwrap();
            assert_eq!(&reply, b"hello");
        }
    });
}

/// A taken port: the second server exits with a message naming the address and `--addr`.
#[test]
fn a_taken_port_is_reported_with_the_address_and_the_flag() {
    // Build the five servers first: building is slow, not a hang.
    let servers: Vec<_> = ["echo_server", "http_hello", "chat", "mini_redis", "events"]
        .into_iter()
        .map(|name| (name, example_process::path(name)))
        .collect();
    util::watchdog(Duration::from_secs(30), move || {
        let (_server, address) = Example::server("echo_server", &[]);
        for (name, path) in servers {
            let output = std::process::Command::new(path).args(["--addr", &address.to_string()]).output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
            assert!(stderr.contains(&format!("cannot listen on {address}")) && stderr.contains("--addr"), "{stderr}");
        }
    });
}
