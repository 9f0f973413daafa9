//! The side-by-side report: a quick pass of every workload for green threads, OS threads and tokio, written
//! to `BENCHMARKS.md` and `benches/report/ratios.svg`.
//!
//! Run: `cargo bench --bench report` (a few minutes on 2 cores): it writes its files under `target/report/`.
//! Add `-- --save` to replace the committed `BENCHMARKS.md` and
//! `benches/report/ratios.svg` (only a full run may), and `-- --only spawn,echo` to run some sections. Plain
//! `cargo bench` runs it too, so by default it touches no tracked file and no kernel setting. Run without `--bench` (as
//! `cargo test --benches` does), it only checks in a few seconds that every server answers and every child
//! process gives a result. Sections: spawn, burst, yield, park, channel, mutex, echo, http, timers, memory, max,
//! redis.
//!
//! Each per-operation cell calibrates its iteration count in a warm-up so one repetition takes ~20 ms, then
//! takes the median of 15 repetitions; whole-run cells (1,000,000 messages, 100,000 sleepers, a contended
//! mutex) take the median of 10 runs after one warm-up run; network cells connect the one client to every
//! system's server, warm up, then sample requests per second in interleaved rounds and take the median, then
//! count each server's system calls during one more interval with perf (`report/syscalls.rs`; the table is
//! skipped with the reason where perf cannot attach). The
//! workloads are the ones of the criterion benches (`benches/workloads/`), run in the same `bench` profile.
//! Servers, and the memory and capacity measurements, run in child processes (this binary re-executed with
//! `--child ...`).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

#[path = "workloads/mod.rs"]
mod workloads;

#[path = "report/children.rs"]
mod children;
#[path = "report/machine.rs"]
mod machine;
#[path = "report/measure.rs"]
mod measure;
#[path = "report/redis.rs"]
mod redis;
#[path = "report/render.rs"]
mod render;
#[path = "report/syscalls.rs"]
mod syscalls;

use machine::Machine;
use measure::{median, per_op, per_run};
use render::{Row, Table, Target, Unit};
use workloads::map_count;
use workloads::{tasks, tokio_current, tokio_multi};

/// Where the report goes, relative to the crate root.
const MARKDOWN: &str = "BENCHMARKS.md";
/// Where the chart goes, relative to the crate root.
const CHART: &str = "benches/report/ratios.svg";

/// The systems every server-side workload compares, in table order.
const SYSTEMS: [&str; 4] = ["green", "std_thread", "tokio_multi_thread", "tokio_current_thread"];

/// The report being built.
struct Report {
    /// When the run started, for progress lines.
    start: Instant,
    /// One per workload, in order.
    tables: Vec<Table>,
    /// Remarks for the end of the report (things skipped).
    notes: Vec<String>,
    /// System calls per request of every network server, in table order.
    syscalls: Vec<syscalls::Measured>,
}

impl Report {
    /// Logs a measured (or failed) cell and makes its row.
    fn row(&self, key: &str, system: &str, unit: Unit, value: Result<f64, String>) -> Row {
        match &value {
            Ok(v) => eprintln!("[{:6.1} s] {key} / {system}: {}", self.start.elapsed().as_secs_f64(), unit.format(*v)),
            Err(e) => eprintln!("[{:6.1} s] {key} / {system}: not measured: {e}", self.start.elapsed().as_secs_f64()),
        }
        Row::new(system, value)
    }

    /// Adds a table.
    fn table(&mut self, key: &str, title: &str, description: &str, unit: Unit, rows: Vec<Row>) {
        self.tables.push(Table {
            key: key.to_string(),
            title: title.to_string(),
            description: description.to_string(),
            unit,
            rows,
        });
    }

    /// The table with `key`.
    fn find(&self, key: &str) -> Option<&Table> {
        self.tables.iter().find(|table| table.key == key)
    }
}

/// One report section: a name for `--only` and the function that measures it.
type Section = (&'static str, fn(&mut Report));

/// Every section, in report order.
const SECTIONS: [Section; 12] = [
    ("spawn", spawn_join),
    ("burst", spawn_burst),
    ("yield", yield_now),
    ("park", park_pingpong),
    ("channel", channel),
    ("mutex", mutex),
    ("echo", echo),
    ("http", http),
    ("timers", timers),
    ("memory", memory),
    ("max", max_green),
    ("redis", mini_redis),
];

/// 11. The mini-redis example against redis-server (`report/redis.rs`); a note instead when not installed.
fn mini_redis(report: &mut Report) {
    match redis::tables() {
        Ok(tables) => report.tables.extend(tables),
        Err(skipped) => report.notes.push(skipped),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        children::run(&args[1..]);
    }
    if !args.iter().any(|arg| arg == "--bench") {
        // `cargo test --benches` runs bench binaries without `--bench`: check the parts only the report has.
        smoke_test();
        return;
    }
    let only: Option<Vec<String>> = args
        .iter()
        .position(|arg| arg == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|list| list.split(',').map(String::from).collect());
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; run `cargo bench --bench report` for meaningful numbers");
    }
    let machine = Machine::read();
    let mut report = Report { start: Instant::now(), tables: Vec::new(), notes: Vec::new(), syscalls: Vec::new() };
    for (name, section) in SECTIONS {
        if only.as_ref().map_or(true, |only| only.iter().any(|o| o == name)) {
            section(&mut report);
        }
    }
    let elapsed = report.start.elapsed();
    let markdown = markdown(&machine, &report, elapsed);
    let subtitle = format!(
        "{} · {} cores · {} · load average at start {}",
        machine.date, machine.cores, machine.cpu, machine.load_average
    );
    let chart = render::svg(&report.tables, &subtitle);
    // Only a full run asked to `--save` replaces the committed report; anything else writes under target/.
    let save = args.iter().any(|arg| arg == "--save");
    let root = match (&only, save) {
        (None, true) => env!("CARGO_MANIFEST_DIR").to_string(),
        (None, false) => concat!(env!("CARGO_MANIFEST_DIR"), "/target/report").to_string(),
        (Some(_), _) => concat!(env!("CARGO_MANIFEST_DIR"), "/target/report-partial").to_string(),
    };
    std::fs::create_dir_all(format!("{root}/benches/report")).expect("create the output directory");
    std::fs::write(format!("{root}/{CHART}"), chart).expect("write the chart");
    std::fs::write(format!("{root}/{MARKDOWN}"), markdown).expect("write the report");
    eprintln!("wrote {root}/{MARKDOWN} and {root}/{CHART} in {:.0} s", elapsed.as_secs_f64());
}

/// Run without `--bench` (as `cargo test --benches` does): every server answers a few requests, and the
/// spawn burst, memory and capacity children give results, in a few seconds; writes nothing.
fn smoke_test() {
    let message: Vec<u8> = (0..64u8).collect();
    let http = (workloads::http::REQUEST.to_vec(), workloads::http::RESPONSE.to_vec());
    for (workload, systems, (request, response)) in
        [("echo", &SYSTEMS[..], (message.clone(), message)), ("http", &SYSTEMS[..], http)]
    {
        for system in systems {
            let server = children::Server::start(workload, system).unwrap();
            let mut client =
                workloads::echo::Client::connect_with(server.address, 4, request.clone(), response.clone()).unwrap();
            let measured = client.run(Duration::from_millis(50)).unwrap();
            assert!(measured.round_trips > 0, "the {system} {workload} server answered nothing");
        }
    }
    syscalls::check_parser();
    let server = children::Server::start("echo", "green").unwrap();
    let mut client = workloads::echo::Client::connect(server.address, 4, 64).unwrap();
    let counted = syscalls::Counter::attach(server.pid()).and_then(|mut counter| {
        counter.enable()?;
        client.run(Duration::from_millis(100)).map_err(|e| e.to_string())?;
        counter.finish()
    });
    match counted {
        Ok(counts) => assert!(counts.by_kind.get("sendto").is_some_and(|&sends| sends > 0), "{counts:?}"),
        Err(reason) => eprintln!("system calls not counted (the report will skip that table): {reason}"),
    }
    drop((client, server));
    for system in SYSTEMS {
        let words = children::result_of(&["spawn-burst", system, "100"], Duration::from_secs(60)).unwrap();
        assert!(words[0].parse::<u64>().is_ok_and(|nanos| nanos > 0), "{system}: {words:?}");
        let per_task = parked_cell(system, 100).unwrap();
        assert!(per_task.is_finite(), "{system}: {per_task} bytes per parked task");
    }
    let words = children::result_of(&["max-green", "1000", "10"], Duration::from_secs(60)).unwrap();
    assert_eq!(words[0], "1000", "{words:?}");
    eprintln!("report smoke test passed; run `cargo bench --bench report` for the report");
}

/// 1. Spawn + join of a trivial task.
fn spawn_join(report: &mut Report) {
    let key = "spawn+join";
    let unit = Unit::NanosPerOp;
    let green = workloads::green(2);
    let mut rows = vec![report.row(key, "green", unit, Ok(per_op(|n| tasks::spawn_join_green(&green, n))))];
    drop(green);
    rows.push(report.row(key, "std_thread", unit, Ok(per_op(tasks::spawn_join_std))));
    for (system, runtime) in [("tokio_multi_thread", tokio_multi()), ("tokio_current_thread", tokio_current())] {
        rows.push(report.row(key, system, unit, Ok(per_op(|n| tasks::spawn_join_tokio(&runtime, n)))));
    }
    report.table(
        key,
        "1. Spawn and join a trivial task",
        "Time per task: spawn batches of 1,000 trivial tasks (16 for OS threads), then join them all. \
         green and tokio_multi_thread have 2 workers.",
        unit,
        rows,
    );
}

/// Fresh child processes per system in the spawn burst section.
const BURST_RUNS: usize = 5;

/// Nanoseconds per task of a spawn burst of `count` tasks of `system`: the median over [`BURST_RUNS`] fresh
/// child processes.
fn burst_cell(system: &str, count: u64) -> Result<f64, String> {
    let mut samples = Vec::with_capacity(BURST_RUNS);
    for _ in 0..BURST_RUNS {
        let words = children::result_of(&["spawn-burst", system, &count.to_string()], Duration::from_secs(60))?;
        let nanos: f64 = words.first().and_then(|word| word.parse().ok()).ok_or("malformed child result")?;
        samples.push(nanos / count as f64);
    }
    Ok(median(&samples))
}

/// 1. Spawn + join of 100,000 tasks at once, in a fresh process.
fn spawn_burst(report: &mut Report) {
    let key = "spawn+join, 100k burst";
    let unit = Unit::NanosPerOp;
    let mut rows = vec![report.row(key, "green", unit, burst_cell("green", tasks::BURST))];
    rows.push(report.row(key, "std_thread", unit, burst_cell("std_thread", tasks::STD_BURST)).with_note(format!(
        "{} OS threads, not 100,000: each holds its stack until joined, and 100,000 stacks need 200,000 \
             memory mappings, above the kernel's default vm.max_map_count",
        render::format_count(tasks::STD_BURST as f64)
    )));
    for system in ["tokio_multi_thread", "tokio_current_thread"] {
        rows.push(report.row(key, system, unit, burst_cell(system, tasks::BURST)));
    }
    report.table(
        key,
        "1. Spawn 100,000 trivial tasks, then join them all, in a fresh process",
        &format!(
            "Time per task: 100,000 trivial tasks spawned from inside the runtime, then all joined, timed from the \
             first spawn to the last join, in a fresh child process (nothing pooled or warmed: stacks, task \
             records and the allocator start cold; the runtime is built before the clock starts); the median of \
             {BURST_RUNS} child processes per system. green and tokio_multi_thread have 2 workers."
        ),
        unit,
        rows,
    );
}

/// 2. Yield.
fn yield_now(report: &mut Report) {
    let key = "yield";
    let unit = Unit::NanosPerOp;
    let green = workloads::green(1);
    let mut rows = vec![report.row(key, "green", unit, Ok(per_op(|n| tasks::yield_green(&green, n))))];
    drop(green);
    rows.push(Row::new(
        "std_thread",
        Err("an OS thread's yield is a bare sched_yield system call, not a switch to another task".into()),
    ));
    for (system, runtime) in [("tokio_multi_thread", tokio_multi()), ("tokio_current_thread", tokio_current())] {
        rows.push(report.row(key, system, unit, Ok(per_op(|n| tasks::yield_tokio(&runtime, n)))));
    }
    let floor = per_op(tasks::corosensei_switch);
    rows.push(Row::reference("corosensei resume + suspend (the floor)", Ok(floor)));
    report.table(
        key,
        "2. Yield",
        "Time per yield of one task that yields in a loop (green: 1 worker). The last row is a bare corosensei \
         switch in and out, the floor under any green switch.",
        unit,
        rows,
    );
}

/// 3. Park/unpark ping-pong.
fn park_pingpong(report: &mut Report) {
    let key = "park ping-pong";
    let unit = Unit::NanosPerOp;
    let green = workloads::green(1);
    let mut rows = vec![report.row(key, "green", unit, Ok(per_op(|n| tasks::park_pingpong_green(&green, n))))];
    drop(green);
    rows.push(report.row(key, "std_thread", unit, Ok(per_op(tasks::park_pingpong_std))));
    for (system, runtime) in [("tokio_multi_thread", tokio_multi()), ("tokio_current_thread", tokio_current())] {
        rows.push(report.row(key, system, unit, Ok(per_op(|n| tasks::park_pingpong_tokio(&runtime, n)))));
    }
    report.table(
        key,
        "3. Park/unpark ping-pong",
        "Time per round trip: two tasks wake each other in turn (green: park/unpark on 1 worker; OS threads: \
         thread::park/unpark; tokio: a pair of Notify).",
        unit,
        rows,
    );
}

/// 4. Channels: ping-pong and throughput.
fn channel(report: &mut Report) {
    use workloads::channel::{self, CAPACITY, MESSAGES};
    let key = "channel ping-pong";
    let unit = Unit::NanosPerOp;
    let green = workloads::green(1);
    let mut rows = vec![report.row(key, "green", unit, Ok(per_op(|n| channel::pingpong_green(&green, n, 1))))];
    rows.push(report.row(key, "std_thread", unit, Ok(per_op(channel::pingpong_std))));
    for (system, runtime) in [("tokio_multi_thread", tokio_multi()), ("tokio_current_thread", tokio_current())] {
        rows.push(report.row(key, system, unit, Ok(per_op(|n| channel::pingpong_tokio(&runtime, n)))));
    }
    report.table(
        key,
        "4. Channel ping-pong",
        "Time per round trip: two tasks exchange a message over a pair of capacity-1 channels (green: \
         green::channel::bounded(1) on 1 worker; OS threads: std::sync::mpsc::sync_channel(1); tokio: \
         tokio::sync::mpsc::channel(1)).",
        unit,
        rows,
    );

    let key = "channel throughput";
    let unit = Unit::Rate("messages");
    let rate = |run: Duration| MESSAGES as f64 / run.as_secs_f64();
    let mut rows = vec![report.row(
        key,
        "green",
        unit,
        Ok(rate(per_run(|| channel::throughput_green(&green, green::channel::bounded(CAPACITY))))),
    )];
    drop(green);
    rows.push(report.row(key, "std_thread", unit, Ok(rate(per_run(channel::throughput_std)))));
    for (system, runtime) in [("tokio_multi_thread", tokio_multi()), ("tokio_current_thread", tokio_current())] {
        rows.push(report.row(key, system, unit, Ok(rate(per_run(|| channel::throughput_tokio(&runtime))))));
    }
    report.table(
        key,
        "4. Channel throughput",
        &format!(
            "Messages per second: one producer sends {} u64s to one consumer through a channel of capacity \
             {CAPACITY} (green::channel::bounded on 1 worker; std::sync::mpsc::sync_channel between OS threads; \
             tokio::sync::mpsc::channel), the consumer checks their sum; the median of {} runs.",
            render::format_count(MESSAGES as f64),
            measure::RUNS
        ),
        unit,
        rows,
    );
}

/// 5. Contended mutex, with a yield and with a little work between critical sections.
fn mutex(report: &mut Report) {
    use workloads::mutex::{self, Between, CONTENDERS, SECTIONS};
    let sections = (CONTENDERS * SECTIONS) as f64;
    let unit = Unit::NanosPerOp;
    for (between, key, title, what) in [
        (Between::Yield, "mutex, yield between", "5. Contended mutex, yielding between critical sections", "yields"),
        (
            Between::Work,
            "mutex, work between",
            "5. Contended mutex, working between critical sections",
            "does a few dozen instructions of work",
        ),
    ] {
        let per_section = |run: Duration| run.as_nanos() as f64 / sections;
        let green = workloads::green(2);
        let mut rows =
            vec![report.row(key, "green", unit, Ok(per_section(per_run(|| mutex::contended_green(&green, between)))))];
        drop(green);
        rows.push(report.row(key, "std_thread", unit, Ok(per_section(per_run(|| mutex::contended_std(between))))));
        for (system, runtime) in [("tokio_multi_thread", tokio_multi()), ("tokio_current_thread", tokio_current())] {
            let value = per_section(per_run(|| mutex::contended_tokio(&runtime, between)));
            rows.push(report.row(key, system, unit, Ok(value)));
        }
        report.table(
            key,
            title,
            &format!(
                "Time per critical section: {CONTENDERS} contenders each do {} × (lock, increment, unlock, then \
                 {what}), one run spawning and joining them, the median of {} runs. green::sync::Mutex on green \
                 threads (2 workers), std::sync::Mutex on OS threads, tokio::sync::Mutex on tokio tasks.",
                render::format_count(SECTIONS as f64),
                measure::RUNS
            ),
            unit,
            rows,
        );
    }
}

/// Rounds of a network table: in each round every system's server is measured in turn, so that a change in
/// the shared machine's load falls on all systems alike.
const NETWORK_ROUNDS: usize = 4;
/// Sampling intervals per round of one network cell.
const NETWORK_SAMPLES: usize = 5;
/// Length of one sampling interval.
const NETWORK_INTERVAL: Duration = Duration::from_millis(250);
/// Warm-up of a network cell, once connected.
const NETWORK_WARM_UP: Duration = Duration::from_millis(500);
/// The interval of a network cell whose system calls are counted (after its rounds).
const SYSCALL_INTERVAL: Duration = Duration::from_secs(2);

/// One system's server and the client connected to it, during a network table.
struct NetworkCell {
    /// The client connected to it, dropped before the server (so connections close first).
    client: workloads::echo::Client,
    /// The server's child process.
    server: children::Server,
    /// Requests per second, one per sampling interval.
    rates: Vec<f64>,
    /// Server CPU time per request, in nanoseconds, one per round.
    cpu: Vec<f64>,
}

/// What [`network`] measured: requests-per-second rows, server-CPU-per-request rows, system calls per request.
type NetworkRows = (Vec<Row>, Vec<Row>, Vec<syscalls::Measured>);

/// A network table: each system's server in a child process, driven by the one client with `connections`
/// connections each sending `request` and expecting `response`. After the rounds, one more interval per system
/// with its system calls counted (see `report/syscalls.rs`).
fn network(
    report: &Report,
    key: &str,
    workload: &str,
    systems: &[&'static str],
    connections: usize,
    (request, response): (&[u8], &[u8]),
) -> NetworkRows {
    // 1. Servers, connections, warm-up.
    let mut cells: Vec<Result<NetworkCell, String>> = systems
        .iter()
        .map(|&system| {
            let server = children::Server::start(workload, system)?;
            let mut client =
                workloads::echo::Client::connect_with(server.address, connections, request.to_vec(), response.to_vec())
                    .map_err(|e| format!("cannot connect: {e}"))?;
            client.run(NETWORK_WARM_UP).map_err(|e| format!("warm-up: {e}"))?;
            Ok(NetworkCell { client, server, rates: Vec::new(), cpu: Vec::new() })
        })
        .collect();
    // 2. Interleaved rounds.
    for _ in 0..NETWORK_ROUNDS {
        for cell in &mut cells {
            let Ok(measured) = cell else { continue };
            let (cpu_before, mut requests) = (measured.server.cpu_time(), 0);
            for _ in 0..NETWORK_SAMPLES {
                match measured.client.run(NETWORK_INTERVAL) {
                    Ok(sample) => {
                        measured.rates.push(sample.per_second());
                        requests += sample.round_trips;
                    }
                    Err(error) => {
                        *cell = Err(format!("client failed: {error}"));
                        break;
                    }
                }
            }
            if let Ok(measured) = cell {
                let cpu = measured.server.cpu_time() - cpu_before;
                measured.cpu.push(cpu.as_nanos() as f64 / requests.max(1) as f64);
            }
        }
    }
    // 3. System calls, one interval per system, apart from the timed rounds (perf's tracepoints cost a little).
    let mut counted = Vec::new();
    for (cell, system) in cells.iter_mut().zip(systems) {
        let result = match cell {
            Ok(measured) => count_syscalls(measured),
            Err(error) => Err(error.clone()),
        };
        match &result {
            Ok((counts, requests)) => eprintln!(
                "[{:6.1} s] {key} / {system}: {:.3} system calls per request",
                report.start.elapsed().as_secs_f64(),
                counts.total as f64 / (*requests).max(1) as f64
            ),
            Err(error) => eprintln!(
                "[{:6.1} s] {key} / {system}: system calls not counted: {error}",
                report.start.elapsed().as_secs_f64()
            ),
        }
        counted.push(syscalls::Measured { workload: key.to_string(), system: system.to_string(), result });
    }
    // 4. Medians.
    let (mut rate_rows, mut cpu_rows) = (Vec::new(), Vec::new());
    for (cell, system) in cells.into_iter().zip(systems) {
        match cell {
            Ok(NetworkCell { client, server, rates, cpu }) => {
                drop(client);
                drop(server);
                let spread = format!(
                    "middle half of the intervals: {}–{}",
                    render::format_count(measure::quantile(&rates, 0.25)),
                    render::format_count(measure::quantile(&rates, 0.75))
                );
                rate_rows.push(report.row(key, system, Unit::Rate("requests"), Ok(median(&rates))).with_note(spread));
                cpu_rows.push(report.row(&format!("{key}, server CPU"), system, Unit::NanosPerOp, Ok(median(&cpu))));
            }
            Err(error) => {
                rate_rows.push(report.row(key, system, Unit::Rate("requests"), Err(error.clone())));
                cpu_rows.push(Row::new(system, Err(error)));
            }
        }
    }
    (rate_rows, cpu_rows, counted)
}

/// Counts a connected server's system calls during one [`SYSCALL_INTERVAL`] of the client; returns the counts
/// and the requests completed meanwhile.
fn count_syscalls(cell: &mut NetworkCell) -> Result<(syscalls::Counts, u64), String> {
    let mut counter = syscalls::Counter::attach(cell.server.pid())?;
    counter.enable()?;
    let sample = cell.client.run(SYSCALL_INTERVAL).map_err(|e| format!("client failed: {e}"))?;
    Ok((counter.finish()?, sample.round_trips))
}

/// What the network tables share in their descriptions.
const NETWORK_METHOD: &str = "Each server runs in its own child process; the same client drives all of them: one OS \
     thread with one mio Poll (benches/workloads/echo.rs), each connection with one request in flight (write it, \
     read the whole answer, check it, count it). Client and server share the machine's 2 cores.";

/// Adds a network workload's two tables (requests per second, server CPU per request) and keeps its system
/// calls for the table of them all.
fn network_tables(report: &mut Report, key: &str, title: &str, what: &str, (rates, cpu, counted): NetworkRows) {
    report.syscalls.extend(counted);
    report.table(key, title, &format!("Requests per second. {what} {NETWORK_METHOD}"), Unit::Rate("requests"), rates);
    report.table(
        &format!("{key}, server CPU"),
        &format!("{title}: server CPU time per request"),
        "CPU time (user and system, all threads) the server process used per request while measured, from \
         /proc/<pid>/stat, the median over the rounds: a figure that a busy machine disturbs less than requests \
         per second.",
        Unit::NanosPerOp,
        cpu,
    );
}

/// 6. Echo at 100 and 1,000 connections.
fn echo(report: &mut Report) {
    let message: Vec<u8> = (0..64u8).collect();
    for connections in [100, 1_000] {
        let key = format!("echo {connections} conns");
        let rows = network(report, &key, "echo", &SYSTEMS, connections, (&message, &message));
        network_tables(
            report,
            &key,
            &format!("6. Echo, {} connections, 64-byte messages", render::format_count(connections as f64)),
            &format!(
                "One request = 64 bytes sent and the same 64 bytes read back, over {} connections. The servers \
                 (those of `cargo bench --bench net`): one green thread per connection (green::net), one OS \
                 thread per connection (std::net), one task per connection (tokio multi-thread with the default \
                 2 workers, or current-thread).",
                render::format_count(connections as f64)
            ),
            rows,
        );
    }
}

/// 7. HTTP hello keep-alive.
fn http(report: &mut Report) {
    let connections = 100;
    let key = "http hello";
    let rows =
        network(report, key, "http", &SYSTEMS, connections, (workloads::http::REQUEST, workloads::http::RESPONSE));
    network_tables(
        report,
        key,
        "7. HTTP/1.1 keep-alive \"Hello, World!\"",
        &format!(
            "{connections} keep-alive connections; each request is a {}-byte GET, each response {} bytes with a \
             13-byte body. The servers (benches/workloads/http.rs) parse requests up to the blank line and answer \
             each: one green thread per connection (green::net), one OS thread per connection (std::net), one \
             task per connection (tokio multi-thread with the default 2 workers, or current-thread).",
            workloads::http::REQUEST.len(),
            workloads::http::RESPONSE.len()
        ),
        rows,
    );
}

/// 8. 100,000 sleeps of 10 ms, all joined.
fn timers(report: &mut Report) {
    let key = "100k sleeps";
    let unit = Unit::Wall;
    let mut rows = Vec::new();
    // At the kernel's default settings: no sysctl is changed (see workloads/map_count.rs).
    let value = match map_count::room_for(tasks::SLEEPERS_MAPPED_STACKS) {
        Ok(()) => {
            let green = workloads::green(2);
            let value = per_run(|| tasks::sleepers_green(&green)).as_nanos() as f64;
            drop(green);
            Ok(value)
        }
        Err(reason) => Err(reason),
    };
    rows.push(report.row(key, "green", unit, value));
    rows.push(Row::new("std_thread", Err("100,000 OS threads at once is not feasible on this machine".into())));
    for (system, runtime) in [("tokio_multi_thread", tokio_multi()), ("tokio_current_thread", tokio_current())] {
        rows.push(report.row(key, system, unit, Ok(per_run(|| tasks::sleepers_tokio(&runtime)).as_nanos() as f64)));
    }
    report.table(
        key,
        "8. Timers: 100,000 tasks each sleeping 10 ms",
        "Wall time from the first spawn until all 100,000 are joined; the ideal is 10 ms. green and \
         tokio_multi_thread have 2 workers.",
        unit,
        rows,
    );
}

/// Parked tasks per child process in the memory section.
const PARKED: usize = 100_000;
/// Parked OS threads in the memory section.
const PARKED_THREADS: usize = 2_000;

/// Child processes per memory cell.
const MEMORY_RUNS: usize = 3;

/// Resident bytes per parked task: the median over [`MEMORY_RUNS`] child processes.
fn parked_cell(system: &str, count: usize) -> Result<f64, String> {
    let mut samples = Vec::with_capacity(MEMORY_RUNS);
    for _ in 0..MEMORY_RUNS {
        let words = children::result_of(&["parked", system, &count.to_string()], Duration::from_secs(60))?;
        let number = |i: usize| words.get(i).and_then(|w| w.parse::<f64>().ok()).ok_or("malformed child result");
        samples.push((number(1)? - number(0)?) / count as f64);
    }
    Ok(median(&samples))
}

/// 9. Resident memory per parked task.
fn memory(report: &mut Report) {
    let key = "memory per parked task";
    let unit = Unit::Bytes;
    let mut rows = Vec::new();
    // At the kernel's default settings: without guard markers, as many as vm.max_map_count allows.
    let green_count = match map_count::room_for(PARKED) {
        Ok(()) => PARKED,
        Err(_) => (map_count::max_map_count().saturating_sub(10_000) / 2).min(PARKED),
    };
    let value = parked_cell("green", green_count);
    let mut row = report.row(key, "green", unit, value);
    if green_count != PARKED {
        row = row.with_note(format!(
            "{green_count} green threads: this kernel has no MADV_GUARD_INSTALL, so vm.max_map_count bounds them"
        ));
    }
    rows.push(row);
    rows.push(
        report
            .row(key, "std_thread", unit, parked_cell("std_thread", PARKED_THREADS))
            .with_note(format!("{} OS threads, not 100,000", render::format_count(PARKED_THREADS as f64))),
    );
    for system in ["tokio_multi_thread", "tokio_current_thread"] {
        rows.push(report.row(key, system, unit, parked_cell(system, PARKED)));
    }
    report.table(
        key,
        "9. Memory: resident bytes per parked task",
        "100,000 tasks, each parked on its own channel's receive (green: green::channel::bounded(1); tokio: \
         tokio::sync::mpsc::channel(1); OS threads: std::sync::mpsc::sync_channel(1)), in a fresh child process: \
         (VmRSS once all are parked − VmRSS before the first spawn) ÷ tasks; the median of 3 child processes \
         per system. It includes each task's \
         channel, sender and join handle, kept by the spawner. Default stack sizes (green: 256 KiB of address \
         space, of which only touched pages are resident; OS threads: 2 MiB).",
        unit,
        rows,
    );
}

/// The most green threads the report tries to park at once.
const MAX_GREEN: usize = 1_000_000;
/// How long a capacity child may spawn before it stops and reports a lower bound.
const MAX_BUDGET: Duration = Duration::from_secs(75);

/// Runs the capacity child; (parked, resident bytes, why it stopped).
fn max_cell() -> Result<(f64, f64, String), String> {
    let start = Instant::now();
    let words = children::result_of(
        &["max-green", &MAX_GREEN.to_string(), &MAX_BUDGET.as_secs().to_string()],
        MAX_BUDGET + Duration::from_secs(60),
    )?;
    let number = |i: usize| words.get(i).and_then(|w| w.parse::<f64>().ok()).ok_or("malformed child result");
    let reason = format!("{}; the child ran {:.0} s", words[2..].join(" "), start.elapsed().as_secs_f64());
    Ok((number(0)?, number(1)?, reason))
}

/// 10. The most concurrent parked green threads.
fn max_green(report: &mut Report) {
    let key = "max parked green threads";
    let unit = Unit::Count;
    let mut rows = Vec::new();
    let stacks = if map_count::kernel_has_guard_markers() {
        "arena stacks with MADV_GUARD_INSTALL guard pages"
    } else {
        "mprotect stacks, 2 mappings each"
    };
    let label = format!("green, vm.max_map_count = {} (as found), {stacks}", map_count::max_map_count());
    rows.push(describe_max(report, key, &label, unit, max_cell()));
    report.table(
        key,
        "10. Capacity: concurrent parked green threads",
        &format!(
            "Green threads spawned and parked one after another (each seen to start before the next is spawned) \
             in a fresh child process with the default runtime settings (2 workers, 256 KiB stacks), until \
             Builder::spawn errors, a green thread fails to start, {} are parked, the machine's available \
             memory falls below a quarter of its total (it is shared), or {} s have passed, at the machine's \
             settings (nothing is raised). Where the kernel has MADV_GUARD_INSTALL (Linux 6.13), stacks are \
             slots of a few shared arenas and need no memory mapping each; on older kernels each stack needs 2, \
             so vm.max_map_count is the first limit (about 32,000 at the kernel's default of 65530).",
            render::format_count(MAX_GREEN as f64),
            MAX_BUDGET.as_secs()
        ),
        unit,
        rows,
    );
}

/// A capacity row with its stop reason and resident memory.
fn describe_max(
    report: &Report,
    key: &str,
    label: &str,
    unit: Unit,
    result: Result<(f64, f64, String), String>,
) -> Row {
    match result {
        Ok((parked, resident, reason)) => {
            let row = Row::reference(label, Ok(parked));
            eprintln!("[{:6.1} s] {key} / {label}: {parked} ({reason})", report.start.elapsed().as_secs_f64());
            row.with_note(format!(
                "{reason}; resident {} in all, {} per thread",
                render::format_bytes(resident),
                render::format_bytes(resident / parked.max(1.0))
            ))
        }
        Err(error) => {
            let _ = unit;
            Row::reference(label, Err(error))
        }
    }
}

/// A goal that green's median must not exceed.
fn at_most(report: &Report, goal: &str, key: &str, limit: f64) -> Target {
    let table = report.find(key);
    let green = table.and_then(Table::green);
    Target {
        goal: goal.to_string(),
        measured: match (table, green) {
            (Some(table), Some(green)) => table.unit.format(green),
            _ => "not measured".into(),
        },
        reached: green.map(|green| green <= limit),
    }
}

/// The tokio flavours, which the goals compare green with.
const TOKIO: [&str; 2] = ["tokio_multi_thread", "tokio_current_thread"];

/// How green's value must compare with the others' in a goal.
#[derive(Clone, Copy)]
enum Bound {
    /// At most this factor times the smallest of the others' values (times, CPU: the best one).
    AtMost(f64),
    /// At least this factor times the largest of the others' values (rates: the best one).
    AtLeast(f64),
}

/// A goal comparing green's value in table `key` with the best of `others`' (see [`Bound`]).
fn versus(report: &Report, goal: &str, key: &str, others: &[&str], bound: Bound) -> Target {
    let table = report.find(key);
    let green = table.and_then(Table::green);
    let best = table.and_then(|table| {
        let values = others.iter().filter_map(|&system| table.value(system).map(|value| (system, value)));
        match bound {
            Bound::AtMost(_) => values.min_by(|a, b| a.1.total_cmp(&b.1)),
            Bound::AtLeast(_) => values.max_by(|a, b| a.1.total_cmp(&b.1)),
        }
    });
    match (table, green, best) {
        (Some(table), Some(green), Some((system, best))) => Target {
            goal: goal.to_string(),
            measured: format!(
                "green {} vs {system} {}: {:.2}×",
                table.unit.format(green),
                table.unit.format(best),
                green / best
            ),
            reached: Some(match bound {
                Bound::AtMost(factor) => green <= factor * best,
                Bound::AtLeast(factor) => green >= factor * best,
            }),
        },
        _ => Target { goal: goal.to_string(), measured: "not measured".into(), reached: None },
    }
}

/// A goal that green's server CPU time per request is at most `factor` times the cheaper tokio flavour's.
fn cheaper_than_tokio(report: &Report, key: &str, factor: f64) -> Target {
    let goal = format!("{key} per request ≤ {factor}× tokio's (the cheaper flavour)");
    versus(report, &goal, key, &TOKIO, Bound::AtMost(factor))
}

/// A goal that green's server makes no more system calls per request than tokio's multi-thread server, the
/// one with as many workers; the current-thread server's figure is shown beside it (one thread polls for every
/// connection, so it sleeps, and polls, least often).
fn fewer_syscalls(report: &Report, workload: &str) -> Target {
    let goal = format!("{workload}: system calls per request ≤ tokio multi-thread's (same worker count)");
    let per_request = |system: &str| {
        report.syscalls.iter().find(|row| row.workload == workload && row.system == system)?.total_per_request()
    };
    match (per_request("green"), per_request("tokio_multi_thread")) {
        (Some(green), Some(tokio)) => Target {
            goal,
            measured: format!(
                "green {green:.3} vs tokio_multi_thread {tokio:.3} (tokio_current_thread {})",
                per_request("tokio_current_thread").map_or("not measured".to_string(), |value| format!("{value:.3}"))
            ),
            reached: Some(green <= tokio),
        },
        _ => Target { goal, measured: "not measured".into(), reached: None },
    }
}

/// The goals from the issue, in its order, checked against the tables.
fn targets(report: &Report) -> Vec<Target> {
    let capacity = report.find("max parked green threads").and_then(|table| {
        table
            .rows
            .iter()
            .filter_map(|row| row.value.clone().ok().map(|value| (value, row.system.clone())))
            .max_by(|a, b| a.0.total_cmp(&b.0))
    });
    vec![
        at_most(report, "spawn+join ≤ 150 ns per task", "spawn+join", 150.0),
        versus(
            report,
            "spawn+join, 100,000 spawned then all joined, fresh process: ≤ 0.5× tokio multi-thread's time",
            "spawn+join, 100k burst",
            &["tokio_multi_thread"],
            Bound::AtMost(0.5),
        ),
        at_most(report, "yield ≤ 20 ns", "yield", 20.0),
        at_most(report, "park/unpark ping-pong ≤ 100 ns per round trip", "park ping-pong", 100.0),
        at_most(report, "channel ping-pong ≤ 120 ns per round trip", "channel ping-pong", 120.0),
        versus(
            report,
            "channel throughput ≥ tokio's (the faster flavour)",
            "channel throughput",
            &TOKIO,
            Bound::AtLeast(1.0),
        ),
        at_most(report, "100,000 sleeps of 10 ms joined within 60 ms wall", "100k sleeps", 60e6),
        versus(
            report,
            "echo, 100 connections: ≥ 1.2× tokio's requests/s (the faster flavour)",
            "echo 100 conns",
            &TOKIO,
            Bound::AtLeast(1.2),
        ),
        versus(
            report,
            "echo, 1,000 connections: ≥ 1.2× tokio's requests/s (the faster flavour)",
            "echo 1000 conns",
            &TOKIO,
            Bound::AtLeast(1.2),
        ),
        versus(
            report,
            "HTTP hello: ≥ 1.2× tokio's requests/s (the faster flavour)",
            "http hello",
            &TOKIO,
            Bound::AtLeast(1.2),
        ),
        cheaper_than_tokio(report, "echo 100 conns, server CPU", 0.85),
        cheaper_than_tokio(report, "echo 1000 conns, server CPU", 0.85),
        cheaper_than_tokio(report, "http hello, server CPU", 0.85),
        fewer_syscalls(report, "echo 100 conns"),
        fewer_syscalls(report, "echo 1000 conns"),
        fewer_syscalls(report, "http hello"),
        at_most(report, "≤ 4.3 KiB resident per parked green thread", "memory per parked task", 4.3 * 1024.0),
        Target {
            goal: "1,000,000 concurrent parked green threads at the machine's vm.max_map_count (no sysctl)".into(),
            measured: capacity.as_ref().map_or("not measured".into(), |(value, system)| {
                format!("{} ({system})", render::format_count(*value))
            }),
            reached: capacity.map(|(value, _)| value >= MAX_GREEN as f64),
        },
    ]
}

/// The whole BENCHMARKS.md.
fn markdown(machine: &Machine, report: &Report, elapsed: Duration) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmarks: green side by side with OS threads and tokio\n");
    let _ = writeln!(
        out,
        "Written by `cargo bench --bench report` on {} in {:.0} s; do not edit by hand, run it again. The \
         criterion benches (`cargo bench --bench core`, ...) measure the same workloads more thoroughly.\n",
        machine.date,
        elapsed.as_secs_f64()
    );
    let _ = writeln!(out, "## Machine\n");
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| cores (available_parallelism) | {} |", machine.cores);
    let _ = writeln!(out, "| CPU | {} |", machine.cpu);
    let _ = writeln!(out, "| memory | {} |", render::format_bytes(machine.memory as f64));
    let _ = writeln!(out, "| kernel | {} |", machine.kernel);
    let _ = writeln!(out, "| rustc | {} |", machine.rustc);
    for (name, version) in &machine.versions {
        let _ = writeln!(out, "| {name} | {version} |");
    }
    let _ = writeln!(out, "| vm.max_map_count at start | {} |", machine.max_map_count);
    let _ = writeln!(
        out,
        "| load average at start (1, 5, 15 min) | {} — the machine is shared with other work |",
        machine.load_average
    );
    let _ = writeln!(out, "| build | the `bench` profile (optimized), the same for every system |\n");
    let _ = writeln!(out, "## How to read\n");
    let _ = writeln!(
        out,
        "Every number is a median. Per-operation cells: a warm-up that also finds an iteration count giving \
         ~{} ms per repetition, then {} repetitions. Whole-run cells: one warm-up run, then {} runs. Network \
         cells: every system's server is started and connected to and warmed up for 0.5 s, then measured in \
         {NETWORK_ROUNDS} rounds in which each system takes its turn (so that a change in the shared \
         machine's load falls on all systems alike) for {NETWORK_SAMPLES} intervals of 250 ms; requests per \
         second are the median over all intervals, server CPU per request the median over the rounds. Memory \
         cells: the median of {MEMORY_RUNS} child processes. Capacity: one child process per setting. The \
         ratio column always reads the same way: **below 1 means green is better** (for times and bytes it is green ÷ other; for requests or messages per \
         second it is other ÷ green). The chart ([ratios.svg]({CHART})) shows the inverse, how many times \
         faster or smaller green is than each other system.\n",
        measure::REPETITION_TIME.as_millis(),
        measure::REPETITIONS,
        measure::RUNS
    );
    let _ = writeln!(out, "## Results\n");
    for table in &report.tables {
        render::markdown_table(&mut out, table);
    }
    if !report.syscalls.is_empty() {
        let reasons: Vec<&String> = report.syscalls.iter().filter_map(|row| row.result.as_ref().err()).collect();
        if reasons.len() == report.syscalls.len() {
            let _ = writeln!(
                out,
                "### System calls per request, by kind\n\nSkipped: perf could not count here ({}). It needs the \
                 `perf` tool and permission to attach to a process's syscall tracepoints (root, or \
                 `kernel.perf_event_paranoid` ≤ 1 with tracefs readable).\n",
                reasons[0]
            );
        } else {
            syscalls::markdown(&mut out, &report.syscalls, SYSCALL_INTERVAL);
        }
    }
    let _ = writeln!(out, "## Targets\n");
    render::markdown_targets(&mut out, &targets(report));
    if !report.notes.is_empty() {
        let _ = writeln!(out, "## Notes\n");
        for note in &report.notes {
            let _ = writeln!(out, "- {note}");
        }
        out.push('\n');
    }
    let _ = writeln!(out, "## Picture\n");
    let _ = writeln!(out, "[![How many times faster or smaller green is]({CHART})]({CHART})\n");
    out
}
