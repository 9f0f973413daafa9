//! Porting test: one `std` program (`tests/port/program.rs`), compiled twice — once with `std` and once with
//! `green` behind the single `use ... as platform` line — and run both ways; the summaries must be equal.

mod util;

use std::time::Duration;

use util::watchdog;

/// The program on `std`: OS threads, blocking sockets and files.
mod with_std {
    use std as platform;
    include!("port/program.rs");
}

/// The same source on `green`: green threads, parking sockets, offloaded files.
mod with_green {
    use green as platform;
    include!("port/program.rs");
}

#[test]
fn the_std_program_gives_the_same_summary_on_green() {
    watchdog(Duration::from_secs(120), || {
        let scratch = std::env::temp_dir().join(format!("green-port-{}", std::process::id()));
        let on_std = with_std::main(&scratch.join("std"));
        // A ported program's `main` runs in `green::run`, so even its own blocking calls only park.
        let on_green =
            green::Runtime::builder().workers(2).build().unwrap().block_on(|| with_green::main(&scratch.join("green")));
        println!("std:   {on_std}\ngreen: {on_green}");
        assert_eq!(on_green, on_std);
        let _ = std::fs::remove_dir_all(&scratch);
    });
}
