//! The `mini_redis` example, run as a child process: every command over RESP2, pipelining, pub/sub, expiry,
//! errors, and hostile clients (garbage, a 1 GiB bulk header, a client that never reads its replies,
//! slowloris under a low descriptor limit, idle connections); then the real `redis-cli` and
//! `redis-benchmark` when installed (skipped with a message otherwise).

mod example_process;
mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use example_process::{have_tool, Example};

/// A RESP client.
struct Client {
    /// Reads replies.
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(address: SocketAddr) -> Client {
        let stream = TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Client { reader: BufReader::new(stream) }
    }

    /// Sends one command as a RESP array of bulk strings.
    fn send(&mut self, arguments: &[&str]) {
        let bytes = encode(arguments);
        self.reader.get_mut().write_all(&bytes).unwrap();
    }

    /// Reads one reply, rendered as redis-cli renders it without a terminal (arrays flattened, one line
    /// per element; nil as `(nil)`, errors with their `ERR` prefix).
    fn reply(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        assert!(line.ends_with("\r\n"), "truncated reply {line:?}");
        let (kind, rest) = line.trim_end().split_at(1);
        match kind {
            "+" | "-" | ":" => rest.to_string(),
            "$" if rest == "-1" => "(nil)".into(),
            "$" => {
                let mut body = vec![0; rest.parse::<usize>().unwrap() + 2];
                self.reader.read_exact(&mut body).unwrap();
                String::from_utf8_lossy(&body[..body.len() - 2]).into_owned()
            }
            "*" => (0..rest.parse::<usize>().unwrap()).map(|_| self.reply()).collect::<Vec<_>>().join("\n"),
            _ => panic!("unexpected reply {line:?}"),
        }
    }

    /// Sends a command and returns its reply.
    fn call(&mut self, arguments: &[&str]) -> String {
        self.send(arguments);
        self.reply()
    }

    /// Asserts that the server closed the connection.
    fn assert_closed(&mut self) {
        let mut rest = Vec::new();
        let _ = self.reader.read_to_end(&mut rest);
        assert!(rest.is_empty(), "unexpected bytes {:?}", String::from_utf8_lossy(&rest));
    }
}

fn encode(arguments: &[&str]) -> Vec<u8> {
    let mut bytes = format!("*{}\r\n", arguments.len()).into_bytes();
    for argument in arguments {
        bytes.extend_from_slice(format!("${}\r\n{argument}\r\n", argument.len()).as_bytes());
    }
    bytes
}

/// Every command, with the answers Redis gives.
#[test]
fn every_command_answers_as_redis_does() {
    example_process::watchdog("mini_redis", Duration::from_secs(30), || {
        let (_server, address) = Example::server("mini_redis", &[]);
        let mut c = Client::connect(address);
        let expect = [
            (&["PING"][..], "PONG"),
            (&["ping", "hi"], "hi"),
            (&["ECHO", "hello world"], "hello world"),
            (&["GET", "k"], "(nil)"),
            (&["SET", "k", "v"], "OK"),
            (&["GET", "k"], "v"),
            (&["SET", "k", "w", "NX"], "(nil)"),
            (&["SET", "k", "w", "XX"], "OK"),
            (&["SET", "other", "w", "XX"], "(nil)"),
            (&["SET", "k", "w", "EX", "0"], "ERR invalid expire time in 'set' command"),
            (&["SET", "k", "w", "EX", "x"], "ERR value is not an integer or out of range"),
            (&["SET", "k", "w", "BOGUS"], "ERR syntax error"),
            (&["INCR", "n"], "1"),
            (&["INCR", "n"], "2"),
            (&["DECR", "n"], "1"),
            (&["INCRBY", "n", "10"], "11"),
            (&["DECRBY", "n", "20"], "-9"),
            (&["INCR", "k"], "ERR value is not an integer or out of range"),
            (&["SET", "big", "9223372036854775807"], "OK"),
            (&["INCR", "big"], "ERR value is not an integer or out of range"),
            (&["EXISTS", "k", "n", "missing", "k"], "3"),
            (&["TTL", "k"], "-1"),
            (&["TTL", "missing"], "-2"),
            (&["EXPIRE", "k", "100"], "1"),
            (&["TTL", "k"], "100"),
            (&["EXPIRE", "missing", "100"], "0"),
            (&["SET", "key:1", "a"], "OK"),
            (&["SET", "key:2", "b"], "OK"),
            (&["KEYS", "key:[1]"], "key:1"),
            (&["KEYS", "ke?:2"], "key:2"),
            (&["DEL", "key:1", "key:2", "missing"], "2"),
            (&["KEYS", "key*"], ""),
            (&["GET"], "ERR wrong number of arguments for 'get' command"),
            (&["NOSUCH", "x"], "ERR unknown command 'nosuch', with args beginning with: 'x'"),
            (&["FLUSHDB"], "OK"),
            (&["KEYS", "*"], ""),
            (&["SELECT", "0"], "OK"),
        ];
        for (command, answer) in expect {
            assert_eq!(c.call(command), answer, "{command:?}");
        }
        // Inline commands, as typed into nc.
        c.reader.get_mut().write_all(b"SET inline 42\r\nGET inline\nPING\r\n").unwrap();
        assert_eq!([c.reply(), c.reply(), c.reply()], ["OK", "42", "PONG"]);
        assert_eq!(c.call(&["QUIT"]), "OK");
        c.assert_closed();
    });
}

/// Keys with a deadline vanish on time: `PX` and `EXPIRE`, read back and listed, and removed by the timer
/// thread (the key count in KEYS drops without anyone reading the keys).
#[test]
fn keys_expire() {
    example_process::watchdog("mini_redis", Duration::from_secs(30), || {
        let (_server, address) = Example::server("mini_redis", &[]);
        let mut c = Client::connect(address);
        assert_eq!(c.call(&["SET", "short", "v", "PX", "200"]), "OK");
        assert_eq!(c.call(&["SET", "long", "v", "EX", "100"]), "OK");
        assert_eq!(c.call(&["SET", "gone", "v"]), "OK");
        assert_eq!(c.call(&["EXPIRE", "gone", "-1"]), "1");
        assert_eq!(c.call(&["GET", "gone"]), "(nil)");
        assert_eq!(c.call(&["GET", "short"]), "v");
        let start = Instant::now();
        while c.call(&["GET", "short"]) == "v" {
            assert!(start.elapsed() < Duration::from_secs(5), "the key never expired");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(start.elapsed() >= Duration::from_millis(150));
        assert_eq!(c.call(&["KEYS", "*"]), "long");
    });
}

/// 10,000 commands in one write get 10,000 answers in order.
#[test]
fn pipelined_commands_are_answered_in_order() {
    example_process::watchdog("mini_redis", Duration::from_secs(60), || {
        let (_server, address) = Example::server("mini_redis", &[]);
        let mut c = Client::connect(address);
        let mut batch = Vec::new();
        for n in 0..10_000 {
            batch.extend(encode(&["INCR", "counter"]));
            if n % 1000 == 0 {
                batch.extend(encode(&["ECHO", &format!("mark {n}")]));
            }
        }
        let mut writer = c.reader.get_ref().try_clone().unwrap();
        let sender = std::thread::spawn(move || writer.write_all(&batch).unwrap());
        for n in 0..10_000 {
            assert_eq!(c.reply(), (n + 1).to_string());
            if n % 1000 == 0 {
                assert_eq!(c.reply(), format!("mark {n}"));
            }
        }
        sender.join().unwrap();
    });
}

/// SUBSCRIBE receives what another connection PUBLISHes; PUBLISH counts the receivers; UNSUBSCRIBE leaves;
/// only pub/sub commands are allowed meanwhile.
#[test]
fn publish_reaches_subscribers() {
    example_process::watchdog("mini_redis", Duration::from_secs(30), || {
        let (_server, address) = Example::server("mini_redis", &[]);
        let mut subscriber = Client::connect(address);
        let mut publisher = Client::connect(address);
        assert_eq!(subscriber.call(&["SUBSCRIBE", "news", "sport"]), "subscribe\nnews\n1");
        assert_eq!(subscriber.reply(), "subscribe\nsport\n2");
        assert_eq!(publisher.call(&["PUBLISH", "news", "hello"]), "1");
        assert_eq!(publisher.call(&["PUBLISH", "weather", "rain"]), "0");
        assert_eq!(subscriber.reply(), "message\nnews\nhello");
        assert!(subscriber.call(&["GET", "x"]).starts_with("ERR Can't execute 'get'"));
        assert_eq!(subscriber.call(&["PING"]), "pong\n");
        assert_eq!(subscriber.call(&["UNSUBSCRIBE", "news"]), "unsubscribe\nnews\n1");
        assert_eq!(publisher.call(&["PUBLISH", "news", "again"]), "0");
        assert_eq!(publisher.call(&["PUBLISH", "sport", "goal"]), "1");
        assert_eq!(subscriber.reply(), "message\nsport\ngoal");
        drop(subscriber);
        // The subscription ends with the connection.
        let start = Instant::now();
        while publisher.call(&["PUBLISH", "sport", "anyone?"]) != "0" {
            assert!(start.elapsed() < Duration::from_secs(5));
            std::thread::sleep(Duration::from_millis(10));
        }
    });
}

/// Malformed input gets `-ERR Protocol error` and a close; the server keeps serving others.
#[test]
fn malformed_input_gets_an_error_and_a_close() {
    example_process::watchdog("mini_redis", Duration::from_secs(30), || {
        let (_server, address) = Example::server("mini_redis", &[]);
        for (input, error) in [
            (&b"*1\r\n$1073741824\r\n"[..], "ERR Protocol error: invalid bulk length"),
            (b"*1\r\n$-5\r\n", "ERR Protocol error: invalid bulk length"),
            (b"*x\r\n", "ERR Protocol error: invalid multibulk length"),
            (b"*99999999999\r\n", "ERR Protocol error: invalid multibulk length"),
            (b"*1\r\n:5\r\n", "ERR Protocol error: expected '$', got ':'"),
            (b"*1\r\n$3\r\nabcde\r\n", "ERR Protocol error: bulk string not followed by CRLF"),
        ] {
            let mut c = Client::connect(address);
            c.reader.get_mut().write_all(input).unwrap();
            assert_eq!(c.reply(), error);
            c.assert_closed();
        }
        // Bulk strings each under the limit that add up to a command too large.
        let (_small, small) = Example::server("mini_redis", &["--max-bulk", "1000"]);
        let mut c = Client::connect(small);
        let bulk = format!("$1000\r\n{}\r\n", "b".repeat(1000));
        let _ = c.reader.get_mut().write_all(format!("*1000\r\n{}", bulk.repeat(100)).as_bytes());
        assert_eq!(c.reply(), "ERR Protocol error: command too large");
        c.assert_closed();
        // An inline line over 64 KiB without a newline.
        let mut c = Client::connect(address);
        let _ = c.reader.get_mut().write_all(&vec![b'a'; 100 * 1024]);
        assert_eq!(c.reply(), "ERR Protocol error: too big inline request");
        // Binary garbage as an inline command is an unknown command; the connection goes on.
        let mut c = Client::connect(address);
        c.reader.get_mut().write_all(b"\x00\xff\xfe garbage\r\n").unwrap();
        assert!(c.reply().starts_with("ERR unknown command"));
        assert_eq!(c.call(&["PING"]), "PONG");
    });
}

/// A client that pipelines GETs of a 64 KiB value and never reads: the server's memory stays bounded (its
/// green thread blocks in write, so it stops reading), other clients are served, and the write timeout
/// closes the stuck connection.
#[test]
fn a_client_that_never_reads_cannot_grow_memory() {
    example_process::watchdog("mini_redis", Duration::from_secs(60), || {
        let (server, address) = Example::server("mini_redis", &["--idle-timeout", "2"]);
        let mut c = Client::connect(address);
        assert_eq!(c.call(&["SET", "big", &"x".repeat(64 * 1024)]), "OK");
        let before = server.resident_kib();
        let mut stuck = TcpStream::connect(address).unwrap();
        stuck.set_write_timeout(Some(Duration::from_millis(500))).unwrap();
        let request = encode(&["GET", "big"]).repeat(1000);
        let mut sent = 0usize;
        // Each 24 KB batch asks for 64 MB of replies; the server must stop reading long before 1,000 batches
        // (24 MB: more than the kernel buffers both ends may hold).
        for _ in 0..1000 {
            match stuck.write_all(&request) {
                Ok(()) => sent += 1,
                Err(_) => break,
            }
        }
        assert!(sent < 1000, "the server kept reading from a client that never reads");
        let growth = server.resident_kib().saturating_sub(before);
        assert!(growth < 64 * 1024, "the server grew by {growth} KiB");
        assert_eq!(c.call(&["PING"]), "PONG");
        // The stuck connection is closed (with a reset: its input was never read) once a write has waited for
        // the idle timeout; until then our writes only time out.
        let start = Instant::now();
        loop {
            match stuck.write(b"*1\r\n$4\r\nPING\r\n") {
                Err(error)
                    if !matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
                {
                    break;
                }
                _ => assert!(start.elapsed() < Duration::from_secs(20), "the stuck connection stayed open"),
            }
        }
    });
}

/// Idle connections close after the idle timeout; a command trickling in is cut off at the request timeout.
#[test]
fn idle_and_slow_connections_are_closed() {
    example_process::watchdog("mini_redis", Duration::from_secs(30), || {
        let (_server, address) = Example::server("mini_redis", &["--idle-timeout", "0.5", "--request-timeout", "1"]);
        let mut idle = Client::connect(address);
        let start = Instant::now();
        idle.assert_closed();
        assert!(start.elapsed() >= Duration::from_millis(400));
        let mut slow = Client::connect(address);
        let start = Instant::now();
        for byte in b"*1\r\n$4\r\nPI" {
            slow.reader.get_mut().write_all(&[*byte]).unwrap();
            std::thread::sleep(Duration::from_millis(100));
        }
        slow.assert_closed();
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(5), "{waited:?}");
    });
}

/// 150 slowloris connections against a server limited to 64 descriptors: normal clients are served.
#[test]
fn mini_redis_survives_slowloris_under_a_low_descriptor_limit() {
    example_process::watchdog("mini_redis", Duration::from_secs(60), || {
        let (_server, address) =
            Example::server_with_file_limit("mini_redis", &[], example_process::SLOWLORIS_FILE_LIMIT);
        example_process::assert_survives_slowloris(address, b"*1\r\n$100000\r\n", b'a', |address| {
            let mut c = Client::connect(address);
            c.reader.get_ref().set_read_timeout(Some(Duration::from_secs(5)))?;
            assert_eq!(c.call(&["PING"]), "PONG");
            Ok(())
        });
    });
}

/// Runs `redis-cli -p PORT arguments...` and returns its output (no terminal: raw values, one per line).
fn redis_cli(address: SocketAddr, arguments: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(["-h", &address.ip().to_string(), "-p", &address.port().to_string()])
        .args(arguments)
        .output()
        .expect("run redis-cli");
    assert!(output.status.success(), "redis-cli {arguments:?} failed");
    String::from_utf8(output.stdout).unwrap().trim_end().to_string()
}

/// The real `redis-cli` round-trips every command, and a SUBSCRIBE in one redis-cli receives a PUBLISH from
/// another.
#[test]
fn redis_cli_round_trips_every_command() {
    if !have_tool("redis-cli") {
        return;
    }
    example_process::watchdog("mini_redis", Duration::from_secs(60), || {
        let (_server, address) = Example::server("mini_redis", &[]);
        for (command, answer) in [
            (&["PING"][..], "PONG"),
            (&["ECHO", "hi there"], "hi there"),
            (&["SET", "k", "v", "EX", "100", "NX"], "OK"),
            (&["GET", "k"], "v"),
            (&["TTL", "k"], "100"),
            (&["SET", "k", "w", "PX", "100000", "XX"], "OK"),
            (&["EXISTS", "k"], "1"),
            (&["INCR", "n"], "1"),
            (&["DECR", "n"], "0"),
            (&["EXPIRE", "n", "50"], "1"),
            (&["KEYS", "[k]"], "k"),
            (&["DEL", "k", "n"], "2"),
            (&["FLUSHDB"], "OK"),
            (&["PUBLISH", "nobody", "x"], "0"),
        ] {
            assert_eq!(redis_cli(address, command), answer, "{command:?}");
        }
        let mut subscriber = Command::new("redis-cli")
            .args(["-h", &address.ip().to_string(), "-p", &address.port().to_string(), "SUBSCRIBE", "news"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(subscriber.stdout.take().unwrap()).lines();
        let mut next = || lines.next().unwrap().unwrap();
        assert_eq!([next(), next(), next()], ["subscribe", "news", "1"]);
        assert_eq!(redis_cli(address, &["PUBLISH", "news", "hello from another redis-cli"]), "1");
        assert_eq!([next(), next(), next()], ["message", "news", "hello from another redis-cli"]);
        subscriber.kill().unwrap();
        subscriber.wait().unwrap();
    });
}

/// `redis-benchmark -t set,get,incr -c 50` completes without errors (100,000 requests in release builds).
#[test]
fn redis_benchmark_completes_without_errors() {
    if !have_tool("redis-benchmark") {
        return;
    }
    example_process::watchdog("mini_redis", Duration::from_secs(300), || {
        let (_server, address) = Example::server("mini_redis", &[]);
        let requests = if cfg!(debug_assertions) { "20000" } else { "100000" };
        for pipeline in ["1", "16"] {
            let output = Command::new("redis-benchmark")
                .args(["-h", &address.ip().to_string(), "-p", &address.port().to_string()])
                .args(["-t", "set,get,incr", "-n", requests, "-c", "50", "-P", pipeline, "-q"])
                .output()
                .expect("run redis-benchmark");
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(output.status.success(), "redis-benchmark failed: {stdout} {stderr}");
            assert!(!stdout.contains("ERR") && !stderr.contains("rror"), "{stdout} {stderr}");
            for test in ["SET", "GET", "INCR"] {
                assert!(stdout.contains(&format!("{test}: ")), "no {test} result in {stdout}");
            }
        }
    });
}

/// A subscriber that never reads is disconnected once its queue is full (8 MiB or 1,024 messages): PUBLISH
/// never waits on it and the server's memory stays bounded.
#[test]
fn a_subscriber_that_never_reads_is_disconnected() {
    example_process::watchdog("mini_redis", Duration::from_secs(60), || {
        let (_server, address) = Example::server("mini_redis", &[]);
        let mut subscriber = Client::connect(address);
        assert_eq!(subscriber.call(&["SUBSCRIBE", "firehose"]), "subscribe\nfirehose\n1");
        let mut publisher = Client::connect(address);
        let message = "m".repeat(64 * 1024);
        let mut published = 0;
        while publisher.call(&["PUBLISH", "firehose", &message]) == "1" {
            published += 1;
            assert!(published < 100_000, "the subscriber was never disconnected");
        }
        // 8 MiB holds 127 encoded 64 KiB messages; the socket buffers may have taken some before.
        assert!(published >= 120, "disconnected after only {published} messages");
    });
}
