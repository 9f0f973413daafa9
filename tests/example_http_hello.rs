//! The `http_hello` example, run as a child process: keep-alive, pipelining, closing, bad and oversized
//! requests, idle clients.

mod example_process;
mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use example_process::Example;

const GET: &str = "GET / HTTP/1.1\r\nHost: test\r\n\r\n";

/// One parsed response.
#[derive(Debug)]
struct Response {
    /// The status code.
    status: u16,
    /// The `Connection` header's value.
    connection: String,
    /// The body.
    body: String,
}

/// A client connection with a buffered reader.
struct Client {
    /// Reads from the connection.
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(address: SocketAddr) -> Client {
        let stream = TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        Client { reader: BufReader::new(stream) }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).unwrap();
    }

    /// Reads one response; `head` says it answers a HEAD request (no body whatever Content-Length says).
    fn response(&mut self, head: bool) -> Response {
        let mut status_line = String::new();
        self.reader.read_line(&mut status_line).unwrap();
        let status = status_line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let (mut length, mut connection) = (None, String::new());
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(": ").unwrap_or_else(|| panic!("bad header {line:?}"));
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = Some(value.parse::<usize>().unwrap()),
                "connection" => connection = value.to_string(),
                _ => {}
            }
        }
        let mut body = vec![0; if head { 0 } else { length.expect("Content-Length") }];
        self.reader.read_exact(&mut body).unwrap();
        Response { status, connection, body: String::from_utf8(body).unwrap() }
    }

    /// Asserts that the server closed the connection (end of file, not a reset) with nothing more sent.
    fn assert_closed(&mut self) {
        let mut rest = Vec::new();
        self.reader.read_to_end(&mut rest).expect("a clean close, not a reset");
        assert!(rest.is_empty(), "unexpected bytes after the last response: {:?}", String::from_utf8_lossy(&rest));
    }

    fn assert_hello(&mut self, connection: &str) {
        let response = self.response(false);
        assert_eq!((response.status, response.body.as_str()), (200, "Hello, World!"));
        assert_eq!(response.connection, connection);
    }
}

/// Several requests, one after the other, on one connection.
#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    example_process::watchdog("http_hello", Duration::from_secs(30), || {
        let (_server, address) = Example::server("http_hello", &[]);
        let mut client = Client::connect(address);
        for _ in 0..5 {
            client.send(GET.as_bytes());
            client.assert_hello("keep-alive");
        }
        // HTTP/1.0 asking for keep-alive (what `ab -k` sends) keeps the connection open too.
        client.send(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        client.assert_hello("keep-alive");
        client.send(GET.as_bytes());
        client.assert_hello("keep-alive");
    });
}

/// Three requests in one write get three answers in order (a HEAD in the middle tells them apart); the
/// last asks to close.
#[test]
fn pipelined_requests_are_answered_in_order() {
    example_process::watchdog("http_hello", Duration::from_secs(30), || {
        let (_server, address) = Example::server("http_hello", &[]);
        let mut client = Client::connect(address);
        client.send(
            b"GET /1 HTTP/1.1\r\nHost: test\r\n\r\n\
              HEAD /2 HTTP/1.1\r\nHost: test\r\n\r\n\
              GET /3 HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
        );
        client.assert_hello("keep-alive");
        let head = client.response(true);
        assert_eq!((head.status, head.body.as_str(), head.connection.as_str()), (200, "", "keep-alive"));
        client.assert_hello("close");
        client.assert_closed();
    });
}

/// A request split across writes (and a body announced by Content-Length) is answered once complete.
#[test]
fn a_request_split_across_writes_is_answered_once_complete() {
    example_process::watchdog("http_hello", Duration::from_secs(30), || {
        let (_server, address) = Example::server("http_hello", &[]);
        let mut client = Client::connect(address);
        client.send(b"POST / HTTP/1.1\r\nHost: te");
        std::thread::sleep(Duration::from_millis(50)); // make it likely the server reads the halves apart
        client.send(b"st\r\nContent-Length: 5\r\n\r\nab");
        std::thread::sleep(Duration::from_millis(50));
        client.send(b"cde");
        client.assert_hello("keep-alive");
        client.send(GET.as_bytes());
        client.assert_hello("keep-alive");
    });
}

/// `Connection: close` (HTTP/1.1) and a plain HTTP/1.0 request each get one answer, then a close.
#[test]
fn connection_close_and_http_1_0_close_after_the_answer() {
    example_process::watchdog("http_hello", Duration::from_secs(30), || {
        let (_server, address) = Example::server("http_hello", &[]);
        let mut client = Client::connect(address);
        client.send(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        client.assert_hello("close");
        client.assert_closed();

        let mut client = Client::connect(address);
        client.send(b"GET / HTTP/1.0\r\n\r\n");
        client.assert_hello("close");
        client.assert_closed();
    });
}

/// Malformed requests get a 400 and a closed connection; the server keeps serving others.
#[test]
fn malformed_requests_get_400_and_close() {
    example_process::watchdog("http_hello", Duration::from_secs(30), || {
        let (_server, address) = Example::server("http_hello", &[]);
        let bad: [&[u8]; 6] = [
            b"GARBAGE\r\n\r\n",
            b"GET /\r\nHost: test\r\n\r\n",
            b"GET / HTTP/2.0\r\nHost: test\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost test\r\n\r\n",
            b"GET / HTTP/1.1\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n",
        ];
        for request in bad {
            let mut client = Client::connect(address);
            // A good request first: it is answered before the bad one.
            client.send(GET.as_bytes());
            client.send(request);
            client.assert_hello("keep-alive");
            let response = client.response(false);
            assert_eq!(response.status, 400, "for {:?}", String::from_utf8_lossy(request));
            assert_eq!(response.connection, "close");
            client.assert_closed();
        }
        let mut client = Client::connect(address);
        client.send(GET.as_bytes());
        client.assert_hello("keep-alive");
    });
}

/// A header section over 8 KiB gets a 400, delivered before the close (no reset), whether or not the
/// header section ever ends.
#[test]
fn oversized_header_gets_400() {
    example_process::watchdog("http_hello", Duration::from_secs(30), || {
        let (_server, address) = Example::server("http_hello", &[]);
        for terminated in [false, true] {
            let mut client = Client::connect(address);
            let mut request = format!("GET / HTTP/1.1\r\nHost: test\r\nX-Big: {}", "x".repeat(16 * 1024));
            if terminated {
                request.push_str("\r\n\r\n");
            }
            client.send(request.as_bytes());
            let response = client.response(false);
            assert_eq!(response.status, 400);
            assert_eq!(response.connection, "close");
            client.assert_closed();
        }
    });
}

/// A client that sends nothing is dropped after the idle timeout (half a second here).
#[test]
fn idle_client_is_dropped_after_the_idle_timeout() {
    example_process::watchdog("http_hello", Duration::from_secs(30), || {
        let (_server, address) = Example::server("http_hello", &["--idle-timeout", "0.5"]);
        let mut idle = Client::connect(address);
        let start = Instant::now();
        idle.assert_closed();
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(400) && waited < Duration::from_secs(10), "{waited:?}");

        // Between requests too.
        let mut client = Client::connect(address);
        client.send(GET.as_bytes());
        client.assert_hello("keep-alive");
        client.assert_closed();
    });
}

/// A request must arrive whole within the request timeout: a client sending a byte every 100 ms (each read
/// well within any per-read timeout) gets a 408 and a close after about one second.
#[test]
fn a_request_sent_byte_by_byte_is_cut_off_at_the_request_deadline() {
    example_process::watchdog("http_hello", Duration::from_secs(30), || {
        let (_server, address) = Example::server("http_hello", &["--idle-timeout", "0.5", "--request-timeout", "1"]);
        let mut slow = Client::connect(address);
        let start = Instant::now();
        let request = b"GET / HTTP/1.1\r\nHost: test\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        for byte in request {
            if slow.reader.get_mut().write_all(&[*byte]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
            if start.elapsed() > Duration::from_secs(3) {
                break;
            }
        }
        let response = slow.response(false);
        let waited = start.elapsed();
        assert_eq!(response.status, 408);
        assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(3), "{waited:?}");
    });
}

/// Requests with bare LF line endings (as `nc` and some clients send) are answered.
#[test]
fn bare_lf_requests_are_answered() {
    example_process::watchdog("http_hello", Duration::from_secs(30), || {
        let (_server, address) = Example::server("http_hello", &[]);
        let mut client = Client::connect(address);
        client.send(b"GET / HTTP/1.1\nHost: test\n\nGET / HTTP/1.1\r\nHost: test\nConnection: close\r\n\n");
        client.assert_hello("keep-alive");
        client.assert_hello("close");
        client.assert_closed();
    });
}

/// 150 slowloris connections against a server limited to 64 descriptors (with long timeouts, so only
/// shedding can help): normal clients keep being served.
#[test]
fn slowloris_under_a_low_descriptor_limit_does_not_lock_out_normal_clients() {
    example_process::watchdog("http_hello", Duration::from_secs(60), || {
        let (_server, address) = Example::server_with_file_limit(
            "http_hello",
            &["--idle-timeout", "60", "--request-timeout", "60"],
            example_process::SLOWLORIS_FILE_LIMIT,
        );
        example_process::assert_survives_slowloris(address, b"GET / HTTP/1.1\r\nX-Slow: ", b'a', |address| {
            let mut client = Client::connect(address);
            client.reader.get_ref().set_read_timeout(Some(Duration::from_secs(5)))?;
            client.send(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
            client.assert_hello("close");
            Ok(())
        });
    });
}
