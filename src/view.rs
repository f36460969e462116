//! The renderer-neutral view of a report: what every command returns so that `report` can render
//! it as JSON, a table, markdown or text without knowing the command.
//!
//! A report is any serde-serializable type that implements [`Report`]: its JSON is the serde
//! form; its table and template views come from [`Report::tables`] and [`Report::summary`].

use crate::finding::Finding;
use serde::Serialize;

/// A plain table: a title, column headers and rows of cells.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Table {
    /// Shown above the table.
    pub title: String,
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows; each has as many cells as there are headers.
    pub rows: Vec<Vec<Cell>>,
    /// Columns a narrow table may leave out, the first left out first (their values are in
    /// the JSON format).
    #[serde(skip)]
    pub droppable: Vec<String>,
    /// Cells keep all their lines (a plan node with its details); otherwise a terminal table
    /// shows a few lines of each cell.
    #[serde(skip)]
    pub tall: bool,
}

impl Table {
    /// A table with a title and headers and no rows yet.
    pub fn new(title: impl Into<String>, headers: &[&str]) -> Self {
        Table {
            title: title.into(),
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            droppable: Vec::new(),
            tall: false,
        }
    }

    /// Let cells keep all their lines.
    pub fn tall(mut self) -> Self {
        self.tall = true;
        self
    }

    /// Let a narrow table leave out these columns (by header), the first first.
    pub fn droppable(mut self, headers: &[&str]) -> Self {
        self.droppable = headers.iter().map(|h| h.to_string()).collect();
        self
    }

    /// The table without the column `header`.
    pub fn without(&self, header: &str) -> Table {
        let Some(i) = self.headers.iter().position(|h| h == header) else {
            return self.clone();
        };
        let mut t = self.clone();
        t.headers.remove(i);
        for r in &mut t.rows {
            if i < r.len() {
                r.remove(i);
            }
        }
        t.droppable.retain(|h| h != header);
        t
    }

    /// Append a row.
    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    /// A two-column `property | value` table.
    pub fn properties<K: Into<String>, V: Into<String>>(
        title: impl Into<String>,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut t = Table::new(title, &["property", "value"]);
        for (k, v) in pairs {
            t.row(vec![Cell::text(k), Cell::text(v)]);
        }
        t
    }
}

/// How a cell wants to be shown; renderers that know colour use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tone {
    /// Nothing special.
    Plain,
    /// Good news.
    Good,
    /// A warning.
    Warn,
    /// An error.
    Bad,
    /// Secondary information.
    Dim,
}

/// One table cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    /// The text.
    pub text: String,
    /// The tone.
    pub tone: Tone,
    /// Right-align (numbers).
    pub numeric: bool,
}

impl Cell {
    /// A plain text cell.
    pub fn text(s: impl Into<String>) -> Self {
        Cell {
            text: s.into(),
            tone: Tone::Plain,
            numeric: false,
        }
    }

    /// A right-aligned number cell.
    pub fn num(n: impl std::fmt::Display) -> Self {
        Cell {
            text: n.to_string(),
            tone: Tone::Plain,
            numeric: true,
        }
    }

    /// A cell with a tone.
    pub fn toned(s: impl Into<String>, tone: Tone) -> Self {
        Cell {
            text: s.into(),
            tone,
            numeric: false,
        }
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::text(s)
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::text(s)
    }
}

/// What a chart shows; the report layer draws it (`report::chart`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChartKind {
    /// Horizontal bars, one per point (shares, sizes per node).
    Bars,
    /// Columns in order (a value per minute).
    Columns,
    /// Columns of counts per bucket.
    Histogram,
    /// Flows from the point's `label` to its `to`, as wide as their value (node to node).
    Flow,
}

/// One bar or column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChartPoint {
    /// What it is (a node, a minute, a bucket).
    pub label: String,
    /// Its value, in the chart's unit.
    pub value: f64,
    /// How it should look.
    pub tone: Tone,
    /// A target to mark on the bar (the capacity-weighted share a node should hold).
    pub mark: Option<f64>,
    /// The value as text, when the unit's formatting does not say it (`42 (12%)`).
    pub text: Option<String>,
    /// Flow charts: where the flow goes (`label` is where it comes from).
    pub to: Option<String>,
}

impl ChartPoint {
    /// A plain point.
    pub fn new(label: impl Into<String>, value: f64) -> Self {
        ChartPoint {
            label: label.into(),
            value,
            tone: Tone::Plain,
            mark: None,
            text: None,
            to: None,
        }
    }

    /// With a tone.
    pub fn tone(mut self, tone: Tone) -> Self {
        self.tone = tone;
        self
    }

    /// The value as a chart prints it.
    pub fn shown(&self, unit: &str) -> String {
        self.text
            .clone()
            .unwrap_or_else(|| fmt_value(self.value, unit))
    }
}

/// A chart of a report: data only; HTML templates place it as SVG.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chart {
    /// A stable id (templates look charts up by it).
    pub id: String,
    /// The title (also the SVG's accessible name).
    pub title: String,
    /// Bars, columns or a histogram.
    pub kind: ChartKind,
    /// What the points' marks are (`target`, `limit`, `before`), for their tooltips.
    pub marks: String,
    /// `ms`, `bytes`, `%`, empty for counts, or a word (`queries`).
    pub unit: String,
    /// The points, in order.
    pub points: Vec<ChartPoint>,
}

impl Chart {
    /// A chart of `(label, value)` points.
    pub fn of(
        id: &str,
        title: impl Into<String>,
        kind: ChartKind,
        unit: &str,
        points: impl IntoIterator<Item = (String, f64)>,
    ) -> Self {
        Chart {
            id: id.to_string(),
            title: title.into(),
            kind,
            marks: "target".into(),
            unit: unit.to_string(),
            points: points
                .into_iter()
                .map(|(l, v)| ChartPoint::new(l, v))
                .collect(),
        }
    }
}

/// What every command returns.
pub trait Report: Serialize {
    /// A stable kebab-case name (`sql-split`); selects the templates `<kind>.md.tera` and
    /// `<kind>.txt.tera` when they exist.
    fn kind(&self) -> &'static str;

    /// A one-line headline for text and markdown output.
    fn summary(&self) -> String;

    /// The tables for the table, markdown and text renderers.
    fn tables(&self) -> Vec<Table>;

    /// Charts of the report's data, for the HTML view (drawn as SVG by the report layer).
    fn charts(&self) -> Vec<Chart> {
        Vec::new()
    }

    /// Data only the HTML view needs beyond the report's JSON (a plan's nodes as `plan show`
    /// lists them), given to templates as `view`.
    fn view_data(&self) -> Option<serde_json::Value> {
        None
    }

    /// A SQL script, for reports whose product is DDL (`--format sql`).
    fn script(&self) -> Option<String> {
        None
    }

    /// Warnings about the inputs (a log read only in part), for stderr: a report is never a
    /// silent partial answer.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }

    /// The findings, for `--fail-on` and the CI formats. Empty for commands without findings.
    fn findings(&self) -> &[Finding] {
        &[]
    }

    /// Whether [`Report::tables`] already shows every finding (with its severity and fix), so
    /// renderers add no separate list of findings: each finding is shown once.
    fn lists_findings(&self) -> bool {
        false
    }

    /// The findings, to apply the configuration to (`Config::apply_to`). `None` for commands
    /// without findings.
    fn findings_mut(&mut self) -> Option<&mut Vec<Finding>> {
        None
    }
}

/// `100000` as `100,000`.
pub fn fmt_n(v: f64) -> String {
    let n = v.round() as i64;
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A duration in milliseconds in the unit that reads best: `850 µs`, `4.2 ms`, `312 ms`,
/// `2.35 s`, `4.5 min`, `2.1 h`; never `-0.0` (a negative or NaN value reads `0 ms`).
pub fn fmt_ms(v: f64) -> String {
    if v.is_nan() || v <= 0.0 || v.is_infinite() {
        return if v == f64::INFINITY {
            "∞".to_string()
        } else {
            "0 ms".to_string()
        };
    }
    if v < 1.0 {
        format!("{:.0} µs", v * 1000.0)
    } else if v < 100.0 {
        format!("{v:.1} ms")
    } else if v < 1000.0 {
        format!("{v:.0} ms")
    } else if v < 60_000.0 {
        format!("{:.2} s", v / 1000.0)
    } else if v < 3_600_000.0 {
        format!("{:.1} min", v / 60_000.0)
    } else {
        format!("{:.1} h", v / 3_600_000.0)
    }
}

/// A line of input as it may be shown in a message: invalid UTF-8 as `\xNN`, control characters
/// as `\n`, `\t`, `\u{1b}`, cut to `max` characters with `…`, never raw binary. Quoted, so
/// where it starts and ends is plain.
pub fn printable_cut(line: &[u8], max: usize) -> String {
    /// A character of the line, or a byte that is not UTF-8.
    enum Piece {
        Char(char),
        Byte(u8),
    }
    let pieces = line.utf8_chunks().flat_map(|chunk| {
        let chars = chunk.valid().chars().map(Piece::Char);
        chars.chain(chunk.invalid().iter().map(|b| Piece::Byte(*b)))
    });
    let mut out = String::from("\"");
    for (shown, piece) in pieces.enumerate() {
        if shown == max {
            out.push('…');
            break;
        }
        match piece {
            Piece::Byte(b) => out.push_str(&format!("\\x{b:02x}")),
            Piece::Char('"') => out.push_str("\\\""),
            Piece::Char('\\') => out.push_str("\\\\"),
            Piece::Char(c) if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => {
                out.extend(c.escape_default())
            }
            Piece::Char(c) => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Bytes for people: `8.0 MB`, `1.2 GB`, `3 kB` (decimal units).
pub fn human_bytes(b: f64) -> String {
    if b >= 1e12 {
        format!("{:.1} TB", b / 1e12)
    } else if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.0} kB", b / 1e3)
    } else if b > 0.0 {
        format!("{b:.0} B")
    } else {
        "0 B".to_string()
    }
}

/// A value with its unit, as the charts print it: `ms` values as durations, `bytes` as sizes,
/// `%` with one decimal, others as counts.
pub fn fmt_value(v: f64, unit: &str) -> String {
    let v = if v.is_finite() && v > 0.0 { v } else { 0.0 };
    match unit {
        "ms" => fmt_ms(v),
        "bytes" => human_bytes(v),
        "%" => format!("{:.1}%", v),
        "" => fmt_n(v),
        u => format!("{} {u}", fmt_n(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_input_are_shown_printable_and_cut() {
        assert_eq!(printable_cut(b"LOG: a\tb", 200), "\"LOG: a\\tb\"");
        assert_eq!(
            printable_cut(b"\x1b[31m\xff\"x", 200),
            "\"\\u{1b}[31m\\xff\\\"x\""
        );
        assert_eq!(
            printable_cut("é".repeat(300).as_bytes(), 200)
                .chars()
                .count(),
            203
        );
        assert_eq!(printable_cut(b"", 10), "\"\"");
    }

    #[test]
    fn durations_read_in_their_best_unit() {
        assert_eq!(fmt_ms(-0.0), "0 ms");
        assert_eq!(fmt_ms(-3.0), "0 ms");
        assert_eq!(fmt_ms(f64::NAN), "0 ms");
        assert_eq!(fmt_ms(0.85), "850 µs");
        assert_eq!(fmt_ms(4.21), "4.2 ms");
        assert_eq!(fmt_ms(312.4), "312 ms");
        assert_eq!(fmt_ms(2345.0), "2.35 s");
        assert_eq!(fmt_ms(270_000.0), "4.5 min");
        assert_eq!(fmt_ms(7_560_000.0), "2.1 h");
    }

    #[test]
    fn bytes_and_counts() {
        assert_eq!(human_bytes(0.0), "0 B");
        assert_eq!(human_bytes(512.0), "512 B");
        assert_eq!(human_bytes(64_000.0), "64 kB");
        assert_eq!(human_bytes(8.0e6), "8.0 MB");
        assert_eq!(human_bytes(1.2e9), "1.2 GB");
        assert_eq!(fmt_n(100_000.0), "100,000");
        assert_eq!(fmt_n(-1234.0), "-1,234");
    }
}
