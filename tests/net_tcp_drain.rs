//! Short reads and writes clear the socket's ready bit (the next call parks at once instead of first failing
//! with `EAGAIN`): the edges that follow must still wake the parked side, for plain and vectored calls, with
//! both sides' buffers filling up and draining many times.

mod util;

use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::time::Duration;

use green::net::{TcpListener, TcpStream};
use util::{runtime, watchdog};

/// Bytes sent each way: many times the socket buffers, so writes come back short and reads drain often.
const BYTES: usize = 16 << 20;

fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

/// The byte at `offset` of the stream.
fn byte(offset: usize) -> u8 {
    (offset % 251) as u8
}

/// Sends [`BYTES`] bytes in chunks of `chunk`, as one buffer or as two halves (`vectored`).
fn send(mut stream: &TcpStream, chunk: usize, vectored: bool) {
    let data: Vec<u8> = (0..BYTES).map(byte).collect();
    let mut sent = 0;
    while sent < BYTES {
        let end = (sent + chunk).min(BYTES);
        if vectored {
            let middle = sent + (end - sent) / 2;
            let written = stream.write_vectored(&[IoSlice::new(&data[sent..middle]), IoSlice::new(&data[middle..end])]);
            sent += written.unwrap();
        } else {
            stream.write_all(&data[sent..end]).unwrap();
            sent = end;
        }
    }
}

/// Receives until end-of-file in reads of at most `chunk` bytes, pausing now and then so the sender's
/// buffer fills; checks every byte and returns the count.
fn receive(mut stream: &TcpStream, chunk: usize, vectored: bool) -> usize {
    let mut buffer = vec![0; chunk];
    let mut received = 0;
    let mut reads = 0u64;
    loop {
        let read = if vectored {
            let (first, second) = buffer.split_at_mut(chunk / 2);
            stream.read_vectored(&mut [IoSliceMut::new(first), IoSliceMut::new(second)]).unwrap()
        } else {
            stream.read(&mut buffer).unwrap()
        };
        if read == 0 {
            return received;
        }
        for (index, value) in buffer[..read].iter().enumerate() {
            assert_eq!(*value, byte(received + index), "byte {} differs", received + index);
        }
        received += read;
        reads += 1;
        if reads % 512 == 0 {
            green::sleep(Duration::from_millis(1));
        }
    }
}

fn transfer(vectored: bool) {
    watchdog(Duration::from_secs(120), move || {
        let rt = runtime(2);
        rt.block_on(move || {
            let (client, server) = pair();
            let receiver = green::spawn(move || receive(&server, 3000, vectored));
            send(&client, 100_000, vectored);
            client.shutdown(std::net::Shutdown::Write).unwrap();
            assert_eq!(receiver.join().unwrap(), BYTES);
        });
    });
}

#[test]
fn a_stream_that_fills_and_drains_many_times_delivers_every_byte() {
    transfer(false);
}

#[test]
fn vectored_reads_and_writes_too() {
    transfer(true);
}
