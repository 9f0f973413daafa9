//! `green::sync::mpsc` against `std::sync::mpsc`: one scenario, written once, run on each (std on OS threads,
//! green in green threads); the two transcripts must be equal. Plus what only green can show: a receive that
//! waits parks only its green thread.

mod util;

use std::time::Duration;

use util::watchdog;

/// The scenario, generic over the module (`std::sync::mpsc` or `green::sync::mpsc`) and the spawn function.
macro_rules! scenario {
    ($name:ident, $mpsc:path, $spawn:path) => {
        fn $name() -> Vec<String> {
            use $mpsc as mpsc;
            let mut log = Vec::new();

            // Unbounded: buffered messages survive the senders; then disconnection.
            let (tx, rx) = mpsc::channel::<u32>();
            let tx2 = tx.clone();
            $spawn(move || {
                for i in 0..3 {
                    tx2.send(i).unwrap();
                }
            })
            .join()
            .unwrap();
            log.push(format!("try_recv: {:?}", rx.try_recv()));
            drop(tx);
            log.push(format!("iter: {:?}", rx.iter().collect::<Vec<_>>()));
            log.push(format!("recv: {:?}", rx.recv()));
            log.push(format!("try_recv: {:?}", rx.try_recv()));
            log.push(format!("recv_timeout: {:?}", rx.recv_timeout(Duration::from_millis(1))));

            // Empty but connected: timeouts and `Empty`.
            let (tx, rx) = mpsc::channel::<u32>();
            log.push(format!("try_recv: {:?}", rx.try_recv()));
            log.push(format!("recv_timeout: {:?}", rx.recv_timeout(Duration::from_millis(5))));
            log.push(format!("try_iter: {:?}", rx.try_iter().collect::<Vec<_>>()));
            tx.send(9).unwrap();
            log.push(format!("try_iter: {:?}", rx.try_iter().collect::<Vec<_>>()));

            // The receiver gone: sends fail and give the message back; errors print as std's.
            drop(rx);
            let error = tx.send(4).unwrap_err();
            log.push(format!("send: {:?} / {} / {}", error, error, error.0));

            // A waiting receive is woken by a send from another thread.
            let (tx, rx) = mpsc::channel::<&str>();
            let sender = $spawn(move || tx.send("woken").unwrap());
            log.push(format!("recv: {:?}", rx.recv()));
            sender.join().unwrap();

            // sync_channel: room, `Full`, rendezvous.
            let (tx, rx) = mpsc::sync_channel::<u32>(1);
            log.push(format!("try_send: {:?}", tx.try_send(1)));
            log.push(format!("try_send: {:?}", tx.try_send(2)));
            log.push(format!("recv: {:?}", rx.recv()));
            let (tx, rx) = mpsc::sync_channel::<u32>(0);
            log.push(format!("try_send: {:?}", tx.try_send(1)));
            let receiver = $spawn(move || rx.recv_timeout(Duration::from_secs(10)));
            tx.send(5).unwrap(); // returns once the receiver took it
            log.push(format!("rendezvous: {:?}", receiver.join().unwrap()));
            let error = tx.try_send(6).unwrap_err();
            log.push(format!("try_send: {:?} / {}", error, error));

            // Many producers, owning iterator.
            let (tx, rx) = mpsc::sync_channel::<u32>(2);
            let producers: Vec<_> = (0..4)
                .map(|p| {
                    let tx = tx.clone();
                    $spawn(move || (0..25).for_each(|i| tx.send(p * 100 + i).unwrap()))
                })
                .collect();
            drop(tx);
            let mut all: Vec<u32> = rx.into_iter().collect();
            producers.into_iter().for_each(|p| p.join().unwrap());
            all.sort();
            log.push(format!("into_iter: {} messages, sum {}", all.len(), all.iter().sum::<u32>()));
            log
        }
    };
}

scenario!(with_std, std::sync::mpsc, std::thread::spawn);
scenario!(with_green, green::sync::mpsc, green::spawn);

#[test]
fn green_mpsc_behaves_as_std_mpsc() {
    watchdog(Duration::from_secs(60), || {
        let expected = with_std();
        let rt = util::runtime(2);
        let got = rt.block_on(with_green);
        assert_eq!(got, expected);
        // The same from a plain OS thread (green channels block it, as std's do).
        assert_eq!(with_green(), expected);
    });
}

#[test]
fn a_waiting_receive_parks_only_its_green_thread() {
    watchdog(Duration::from_secs(30), || {
        let rt = util::runtime(1);
        rt.block_on(|| {
            let (tx, rx) = green::sync::mpsc::channel();
            // On the one worker: a std receive here would block the worker and the sender would never run.
            let sender = green::spawn(move || {
                green::sleep(Duration::from_millis(5));
                tx.send("from the same worker").unwrap();
            });
            assert_eq!(rx.recv(), Ok("from the same worker"));
            sender.join().unwrap();
        });
    });
}
