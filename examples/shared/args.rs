//! The examples' command lines: `--flag value` pairs, so each example reads its options in a few lines.
//! Included with `#[path = "shared/args.rs"] mod args;`.
#![allow(dead_code)]

use std::time::Duration;

/// A parsed command line.
pub struct Args {
    /// (flag, value) pairs in order.
    pairs: Vec<(String, String)>,
    /// Printed with `usage:` before exiting on a bad command line.
    usage: String,
}

impl Args {
    /// Parses the process's arguments as `--flag value` pairs; exits with `usage` if a flag is not in `known`
    /// or has no value.
    pub fn parse(usage: &str, known: &[&str]) -> Args {
        let mut words = std::env::args().skip(1);
        let mut args = Args { pairs: Vec::new(), usage: usage.to_string() };
        while let Some(flag) = words.next() {
            match words.next() {
                Some(value) if known.contains(&flag.as_str()) => args.pairs.push((flag, value)),
                _ => args.exit(),
            }
        }
        args
    }

    /// The value of `flag`, if given.
    pub fn value(&self, flag: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(name, _)| name == flag).map(|(_, value)| value.as_str())
    }

    /// The value of `flag`, or `default`.
    pub fn text(&self, flag: &str, default: &str) -> String {
        self.value(flag).unwrap_or(default).to_string()
    }

    /// The positive number given with `flag`, or `default`; exits with the usage message if it is not one.
    pub fn number(&self, flag: &str, default: f64) -> f64 {
        match self.value(flag).map(str::parse::<f64>) {
            None => default,
            Some(Ok(number)) if number > 0.0 => number,
            Some(_) => self.exit(),
        }
    }

    /// [`number`](Self::number) as a whole count.
    pub fn count(&self, flag: &str, default: u64) -> u64 {
        self.number(flag, default as f64) as u64
    }

    /// [`number`](Self::number) as seconds.
    pub fn seconds(&self, flag: &str, default: f64) -> Duration {
        Duration::from_secs_f64(self.number(flag, default))
    }

    /// `--workers N`, or one worker per core.
    pub fn workers(&self) -> usize {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        self.count("--workers", cores as u64) as usize
    }

    /// Prints the usage message and exits with status 2.
    fn exit(&self) -> ! {
        eprintln!("usage: {}", self.usage);
        std::process::exit(2)
    }
}
