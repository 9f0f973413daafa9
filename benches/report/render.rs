//! The report's tables and targets, rendered as BENCHMARKS.md and as the hand-written ratios.svg.

use std::fmt::Write;

/// What a table's numbers are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Nanoseconds per operation; lower is better.
    NanosPerOp,
    /// Wall time of a whole run, in nanoseconds; lower is better.
    Wall,
    /// Operations per second (the name of one operation); higher is better.
    Rate(&'static str),
    /// Bytes per task; lower is better.
    Bytes,
    /// A number of things; higher is better; not compared between systems.
    Count,
}

impl Unit {
    /// Whether a smaller number is the better one.
    pub fn lower_is_better(self) -> bool {
        matches!(self, Unit::NanosPerOp | Unit::Wall | Unit::Bytes)
    }

    /// A value with its unit, to read.
    pub fn format(self, value: f64) -> String {
        match self {
            Unit::NanosPerOp | Unit::Wall => format_nanos(value),
            Unit::Rate(what) => format!("{} {what}/s", format_count(value)),
            Unit::Bytes => format_bytes(value),
            Unit::Count => format_count(value),
        }
    }
}

/// One system's cell in a table.
#[derive(Debug, Clone)]
pub struct Row {
    /// `green`, `std_thread`, `tokio_multi_thread`, `tokio_current_thread`, or a variant of one.
    pub system: String,
    /// The median, or why there is none.
    pub value: Result<f64, String>,
    /// Whether this row gets a ratio against green (false for green itself and for reference rows).
    pub compared: bool,
    /// A remark shown next to the value (a different N, ...).
    pub note: String,
}

impl Row {
    /// A row compared with green (green's own row is recognised by its name).
    pub fn new(system: &str, value: Result<f64, String>) -> Row {
        Row { system: system.to_string(), value, compared: system != "green", note: String::new() }
    }

    /// A row shown for reference only, without a ratio.
    pub fn reference(system: &str, value: Result<f64, String>) -> Row {
        Row { compared: false, ..Row::new(system, value) }
    }

    /// Adds a remark.
    pub fn with_note(mut self, note: impl Into<String>) -> Row {
        self.note = note.into();
        self
    }
}

/// One workload's results.
#[derive(Debug, Clone)]
pub struct Table {
    /// Short name for the chart (`spawn+join`).
    pub key: String,
    /// Section heading.
    pub title: String,
    /// What was measured, how.
    pub description: String,
    /// What the numbers are.
    pub unit: Unit,
    /// One per system; the one named `green` is the reference of the ratios.
    pub rows: Vec<Row>,
}

impl Table {
    /// Green's median, when measured.
    pub fn green(&self) -> Option<f64> {
        self.rows.iter().find(|row| row.system == "green").and_then(|row| row.value.clone().ok())
    }

    /// A system's median, when measured.
    pub fn value(&self, system: &str) -> Option<f64> {
        self.rows.iter().find(|row| row.system == system).and_then(|row| row.value.clone().ok())
    }

    /// The ratio of `row` against green, oriented so that < 1 means green is better.
    pub fn ratio(&self, row: &Row) -> Option<f64> {
        let (green, other) = (self.green()?, row.value.clone().ok()?);
        if !row.compared || green <= 0.0 || other <= 0.0 {
            return None;
        }
        Some(if self.unit.lower_is_better() { green / other } else { other / green })
    }

    /// What the ratio column divides.
    fn ratio_meaning(&self) -> &'static str {
        if self.unit.lower_is_better() {
            "green ÷ other; < 1: green is faster or smaller"
        } else {
            "other ÷ green; < 1: green does more per second"
        }
    }
}

/// A goal from the issue and whether this run reached it.
#[derive(Debug, Clone)]
pub struct Target {
    /// What the issue asks for.
    pub goal: String,
    /// What this run measured, to read.
    pub measured: String,
    /// `None` when not measured.
    pub reached: Option<bool>,
}

/// Formats nanoseconds with a fitting unit.
pub fn format_nanos(nanos: f64) -> String {
    if nanos < 1_000.0 {
        format!("{nanos:.1} ns")
    } else if nanos < 1_000_000.0 {
        format!("{:.2} µs", nanos / 1e3)
    } else if nanos < 1_000_000_000.0 {
        format!("{:.1} ms", nanos / 1e6)
    } else {
        format!("{:.2} s", nanos / 1e9)
    }
}

/// Formats a count with thousands separators (rounded to a whole number).
pub fn format_count(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Formats bytes as B, KiB, MiB or GiB.
pub fn format_bytes(bytes: f64) -> String {
    if bytes < 1024.0 {
        format!("{bytes:.0} B")
    } else if bytes < 1024.0 * 1024.0 {
        format!("{:.2} KiB", bytes / 1024.0)
    } else if bytes < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
    } else {
        format!("{:.1} GiB", bytes / (1024.0 * 1024.0 * 1024.0))
    }
}

/// Formats a ratio (`0.42`, `3.1`, `120`).
fn format_ratio(ratio: f64) -> String {
    if ratio < 10.0 {
        format!("{ratio:.2}")
    } else if ratio < 100.0 {
        format!("{ratio:.1}")
    } else {
        format!("{ratio:.0}")
    }
}

/// Renders one workload's table in markdown.
pub fn markdown_table(out: &mut String, table: &Table) {
    let _ = writeln!(out, "### {}\n\n{}\n", table.title, table.description);
    if table.unit == Unit::Count {
        let _ = writeln!(out, "| system | result |\n|---|---|");
        for row in &table.rows {
            let value = match &row.value {
                Ok(value) => format!("**{}**", table.unit.format(*value)),
                Err(reason) => format!("not measured: {reason}"),
            };
            let value = if row.note.is_empty() { value } else { format!("{value} ({})", row.note) };
            let _ = writeln!(out, "| {} | {value} |", row.system);
        }
        out.push('\n');
        return;
    }
    let _ = writeln!(out, "| system | median | ratio ({}) |", table.ratio_meaning());
    let _ = writeln!(out, "|---|---:|---:|");
    for row in &table.rows {
        let value = match &row.value {
            Ok(value) => table.unit.format(*value),
            Err(reason) => format!("not measured: {reason}"),
        };
        let value = if row.note.is_empty() { value } else { format!("{value} ({})", row.note) };
        let ratio = match table.ratio(row) {
            Some(ratio) => format_ratio(ratio),
            None if row.system == "green" => "reference".to_string(),
            None => "—".to_string(),
        };
        let _ = writeln!(out, "| {} | {value} | {ratio} |", row.system);
    }
    out.push('\n');
}

/// Renders the targets in markdown.
pub fn markdown_targets(out: &mut String, targets: &[Target]) {
    let _ = writeln!(out, "| target (from the issue) | measured | |");
    let _ = writeln!(out, "|---|---|---|");
    for target in targets {
        let verdict = match target.reached {
            Some(true) => "reached",
            Some(false) => "**missed**",
            None => "not measured",
        };
        let _ = writeln!(out, "| {} | {} | {verdict} |", target.goal, target.measured);
    }
    out.push('\n');
}

/// Escapes text for SVG.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The chart: one horizontal bar per (workload, other system), the factor by which green is faster or cheaper
/// (1 / ratio), on a log scale centred on 1×, capped at the ends of the axis.
pub fn svg(tables: &[Table], subtitle: &str) -> String {
    let mut bars: Vec<(String, String, f64)> = Vec::new();
    for table in tables {
        for row in &table.rows {
            if let Some(ratio) = table.ratio(row) {
                bars.push((table.key.clone(), row.system.clone(), 1.0 / ratio));
            }
        }
    }
    let (left, plot_left, plot_right, width) = (10.0, 360.0, 880.0, 960.0);
    let (top, row_height) = (78.0, 20.0);
    let height = top + row_height * bars.len() as f64 + 50.0;
    let logs: Vec<f64> = bars.iter().map(|bar| bar.2.log10()).collect();
    let low = logs.iter().copied().fold(-1.0_f64, f64::min).floor().max(-2.0);
    let high = logs.iter().copied().fold(1.0_f64, f64::max).ceil().min(3.0);
    let x = |log: f64| plot_left + (log.clamp(low, high) - low) / (high - low) * (plot_right - plot_left);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{left}" y="22" font-size="16" font-weight="bold">How many times faster (or smaller) green is than each other system</text>"#
    );
    let _ = writeln!(
        out,
        r##"<text x="{left}" y="42" fill="#555">Log scale, medians. Right of 1×: green is better; left: green is worse. Bars are capped at the axis ends.</text>"##
    );
    let _ = writeln!(out, r##"<text x="{left}" y="60" fill="#555">{}</text>"##, escape(subtitle));
    // Decade grid lines and labels.
    let bottom = top + row_height * bars.len() as f64;
    let mut decade = low;
    while decade <= high {
        let gx = x(decade);
        let stroke = if decade == 0.0 { "#000" } else { "#ccc" };
        let _ = writeln!(out, r#"<line x1="{gx:.1}" y1="{top}" x2="{gx:.1}" y2="{bottom}" stroke="{stroke}"/>"#);
        let label = 10f64.powi(decade as i32);
        let _ = writeln!(out, r#"<text x="{gx:.1}" y="{:.1}" text-anchor="middle">{label}×</text>"#, bottom + 16.0);
        decade += 1.0;
    }
    let mut previous_key = "";
    for (i, (key, system, factor)) in bars.iter().enumerate() {
        let y = top + row_height * i as f64;
        if key != previous_key && i > 0 {
            let _ = writeln!(out, r##"<line x1="{left}" y1="{y}" x2="{plot_right}" y2="{y}" stroke="#eee"/>"##);
        }
        let label = if key == previous_key { format!("vs {system}") } else { format!("{key} — vs {system}") };
        previous_key = key;
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            plot_left - 8.0,
            y + 14.0,
            escape(&label)
        );
        let (from, to) = (x(0.0), x(factor.log10()));
        let (bar_x, bar_width) = (from.min(to), (to - from).abs().max(1.0));
        let colour = if *factor >= 1.0 { "#2e8b57" } else { "#d9534f" };
        let _ = writeln!(
            out,
            r#"<rect x="{bar_x:.1}" y="{:.1}" width="{bar_width:.1}" height="{:.1}" fill="{colour}"/>"#,
            y + 3.0,
            row_height - 6.0
        );
        let capped = factor.log10() > high || factor.log10() < low;
        let text = format!("{}×{}", format_ratio(*factor), if capped { " (capped)" } else { "" });
        let (text_x, anchor) = if *factor >= 1.0 { (to + 4.0, "start") } else { (to - 4.0, "end") };
        let _ = writeln!(
            out,
            r#"<text x="{text_x:.1}" y="{:.1}" text-anchor="{anchor}">{}</text>"#,
            y + 14.0,
            escape(&text)
        );
    }
    let _ = writeln!(out, "</svg>");
    out
}
