//! Rendering any [`Report`] to any `io::Write`: JSON (serde_json), tables (comfy-table), and
//! HTML, markdown or text through tera templates embedded at build time (overridable with a
//! file; `dbkit templates export` writes them out). HTML is one self-contained page with the
//! report's charts drawn as SVG by [`chart`]. The only module that uses tera and comfy-table.

use crate::finding::Finding;
use crate::view::{Report, Table, Tone};
use comfy_table::{presets, Attribute, CellAlignment, Color, ContentArrangement};
use serde::Serialize;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::str::FromStr;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// A table (the default on a terminal).
    #[default]
    Table,
    /// JSON: the report's serde form, pretty-printed.
    Json,
    /// Markdown (for PR comments and docs).
    Markdown,
    /// Plain text with aligned columns.
    Text,
    /// The report's SQL script (for reports that produce DDL).
    Sql,
    /// GitHub Actions workflow annotations, one per finding.
    Github,
    /// SARIF 2.1.0 (code scanning).
    Sarif,
    /// JUnit XML (one test case per finding, or one passing case).
    Junit,
    /// One self-contained HTML page (inline CSS and SVG charts, no external URL).
    Html,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "markdown" | "md" => Ok(Format::Markdown),
            "text" | "txt" => Ok(Format::Text),
            "sql" => Ok(Format::Sql),
            "github" => Ok(Format::Github),
            "sarif" => Ok(Format::Sarif),
            "junit" => Ok(Format::Junit),
            "html" => Ok(Format::Html),
            other => Err(format!(
                "unknown format '{other}' (expected table, json, markdown, text or html)"
            )),
        }
    }
}

/// Rendering errors.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A template failed to load or render.
    #[error("template {name}: {message}")]
    Template {
        /// The template's name or file.
        name: String,
        /// Tera's message, with its causes.
        message: String,
    },
    /// Writing the output failed (a broken pipe is one; the CLI treats it as success).
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
    /// JSON serialization failed.
    #[error("serializing JSON: {0}")]
    Json(serde_json::Error),
}

impl From<serde_json::Error> for RenderError {
    /// A JSON writer's I/O failure (a closed pipe) is an output error like any other.
    fn from(e: serde_json::Error) -> Self {
        match e.io_error_kind() {
            Some(kind) => RenderError::Io(std::io::Error::new(kind, e.to_string())),
            None => RenderError::Json(e),
        }
    }
}

/// How to render.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// The format.
    pub format: Format,
    /// Use ANSI colours.
    pub color: bool,
    /// A template file to use instead of the built-in one (HTML, markdown and text); it may
    /// extend and import the built-in ones (`layout.html.tera`, `macros.html.tera`).
    pub template: Option<PathBuf>,
    /// Output goes to a terminal: tables fit its width unless `width` is given.
    pub terminal: bool,
    /// The width tables must fit (`--width`, `COLUMNS`); when `None`, the terminal's width on a
    /// terminal, else [`DEFAULT_WIDTH`].
    pub width: Option<u16>,
}

/// The width of tables written to a file or a pipe, when none is given.
pub const DEFAULT_WIDTH: u16 = 120;

/// A cell wraps over at most this many lines in a table; the rest is cut with `…` (the JSON
/// format has every value whole).
pub const MAX_CELL_LINES: usize = 6;

impl RenderOptions {
    /// The width tables are laid out to.
    pub fn table_width(&self) -> u16 {
        let detected = || comfy_table::Table::new().width();
        self.width
            .or_else(|| if self.terminal { detected() } else { None })
            .unwrap_or(DEFAULT_WIDTH)
            .max(20)
    }
}

/// `text` escaped for XML/HTML text and attribute values.
pub fn xml_escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {
                s.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => s.push(c),
        }
    }
    s
}

pub mod chart;
pub(crate) mod ci;
pub mod templates;

/// The built-in templates, embedded at build time: `(name, text)`.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "layout.html.tera",
        include_str!("../../templates/layout.html.tera"),
    ),
    (
        "macros.html.tera",
        include_str!("../../templates/macros.html.tera"),
    ),
    (
        "generic.html.tera",
        include_str!("../../templates/generic.html.tera"),
    ),
    (
        "plan-show.html.tera",
        include_str!("../../templates/plan-show.html.tera"),
    ),
    (
        "plan-diff.html.tera",
        include_str!("../../templates/plan-diff.html.tera"),
    ),
    (
        "check.html.tera",
        include_str!("../../templates/check.html.tera"),
    ),
    (
        "explain.html.tera",
        include_str!("../../templates/explain.html.tera"),
    ),
    (
        "playbook.html.tera",
        include_str!("../../templates/playbook.html.tera"),
    ),
    (
        "generic.md.tera",
        include_str!("../../templates/generic.md.tera"),
    ),
    (
        "generic.txt.tera",
        include_str!("../../templates/generic.txt.tera"),
    ),
    (
        "sql-fingerprint.md.tera",
        include_str!("../../templates/sql-fingerprint.md.tera"),
    ),
    (
        "check.md.tera",
        include_str!("../../templates/check.md.tera"),
    ),
];

/// Render `report` to `out`.
pub fn render<R: Report>(
    report: &R,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> Result<(), RenderError> {
    match (opts.format, &opts.template) {
        (_, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| RenderError::Template {
                name: path.display().to_string(),
                message: e.to_string(),
            })?;
            let name = path.display().to_string();
            let s = render_template(report, opts, &name, Some(&text))?;
            out.write_all(s.as_bytes())?;
        }
        (Format::Json, None) => {
            serde_json::to_writer_pretty(&mut *out, report)?;
            out.write_all(b"\n")?;
        }
        (Format::Sql, None) => match report.script() {
            Some(s) => out.write_all(s.as_bytes())?,
            None => {
                return Err(RenderError::Template {
                    name: "sql".to_string(),
                    message: format!(
                        "the {} report has no SQL script; use table, json, markdown or text",
                        report.kind()
                    ),
                })
            }
        },
        (Format::Github, None) => out.write_all(ci::github(report.findings()).as_bytes())?,
        (Format::Sarif, None) => {
            serde_json::to_writer_pretty(&mut *out, &ci::sarif(report.kind(), report.findings()))?;
            out.write_all(b"\n")?;
        }
        (Format::Junit, None) => out
            .write_all(ci::junit(report.kind(), &report.summary(), report.findings()).as_bytes())?,
        (Format::Table, None) => {
            let s = render_tables(report, opts);
            out.write_all(s.as_bytes())?;
        }
        (Format::Markdown | Format::Text | Format::Html, None) => {
            let ext = match opts.format {
                Format::Markdown => "md",
                Format::Html => "html",
                _ => "txt",
            };
            let specific = format!("{}.{ext}.tera", report.kind());
            let name = if TEMPLATES.iter().any(|(n, _)| *n == specific) {
                specific
            } else {
                format!("generic.{ext}.tera")
            };
            let s = render_template(report, opts, &name, None)?;
            out.write_all(s.as_bytes())?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Lines of a cell with their leading spaces made no-break spaces: the table wraps at spaces and
/// drops those at the start of a line, which flattened a plan tree's indentation (and the details
/// under each node) whenever a line was wrapped.
fn keep_indents(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.starts_with(' ') && !text.contains("\n ") {
        return std::borrow::Cow::Borrowed(text);
    }
    let lines: Vec<String> = text
        .split('\n')
        .map(|l| {
            let body = l.trim_start_matches(' ');
            "\u{a0}".repeat(l.len() - body.len()) + body
        })
        .collect();
    std::borrow::Cow::Owned(lines.join("\n"))
}

fn tone_color(t: Tone) -> Option<Color> {
    match t {
        Tone::Plain => None,
        Tone::Good => Some(Color::Green),
        Tone::Warn => Some(Color::Yellow),
        Tone::Bad => Some(Color::Red),
        Tone::Dim => Some(Color::DarkGrey),
    }
}

fn severity_tone(s: crate::Severity) -> Tone {
    match s {
        crate::Severity::Info => Tone::Dim,
        crate::Severity::Warning => Tone::Warn,
        crate::Severity::Error => Tone::Bad,
    }
}

/// The findings as a table (used by the table renderer).
fn findings_table(findings: &[Finding]) -> Table {
    use crate::view::Cell;
    let mut t = Table::new(
        "Findings",
        &["severity", "rule", "at", "message", "suggestion"],
    );
    let at_of = |f: &Finding| match (&f.location.file, f.location.line, &f.location.node) {
        (Some(file), Some(line), _) => format!("{file}:{line}"),
        (Some(file), None, _) => file.clone(),
        (None, _, Some(node)) => node.clone(),
        _ => String::new(),
    };
    // A fix that serves several findings is printed once, with where else it applies.
    let mut serves: std::collections::HashMap<&str, Vec<String>> = std::collections::HashMap::new();
    for f in findings {
        if let Some(s) = f.suggestion.as_deref() {
            let at = at_of(f);
            let list = serves.entry(s).or_default();
            if !list.contains(&at) {
                list.push(at);
            }
        }
    }
    let mut shown: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for f in findings {
        let at = at_of(f);
        let suggestion = match f.suggestion.as_deref() {
            Some(s) if !shown.insert(s) => "(the same fix as above)".to_string(),
            Some(s) => {
                let others: Vec<&String> = serves[s].iter().filter(|a| **a != at).collect();
                if others.is_empty() {
                    s.to_string()
                } else {
                    // A long list is cut: the cell shows a few lines.
                    let shown: Vec<&str> = others.iter().take(5).map(|a| a.as_str()).collect();
                    let more = match others.len().saturating_sub(shown.len()) {
                        0 => String::new(),
                        n => format!(" and {n} more"),
                    };
                    format!("{s}\n(it serves {}{more} too)", shown.join(", "))
                }
            }
            None => String::new(),
        };
        t.row(vec![
            Cell::toned(f.severity.as_str(), severity_tone(f.severity)),
            Cell::text(f.rule.as_str()),
            Cell::text(at),
            Cell::text(f.message.clone()),
            Cell::text(suggestion),
        ]);
    }
    t
}

fn render_tables<R: Report>(report: &R, opts: &RenderOptions) -> String {
    let mut tables = report.tables();
    if !report.findings().is_empty() && !report.lists_findings() {
        tables.push(findings_table(report.findings()));
    }
    let width = opts.table_width();
    let mut s = String::new();
    for t in &tables {
        let title = if opts.color {
            format!("\x1b[1m{}\x1b[0m", t.title)
        } else {
            t.title.clone()
        };
        s.push_str(&title);
        s.push('\n');
        if t.rows.is_empty() {
            s.push_str("  (none)\n\n");
            continue;
        }
        // Too narrow for every column whole: leave out the columns the report lets go.
        let mut t = t.clone();
        let mut left_out = Vec::new();
        while !comfortable(&t, width) {
            let Some(h) = t.droppable.first().cloned() else {
                break;
            };
            t = t.without(&h);
            left_out.push(h);
        }
        let t = &t;
        let mut ct = comfy_table::Table::new();
        ct.load_preset(presets::UTF8_FULL_CONDENSED);
        if opts.color {
            ct.enforce_styling();
        } else {
            ct.force_no_tty();
        }
        ct.set_content_arrangement(ContentArrangement::Dynamic);
        ct.set_width(width);
        ct.set_truncation_indicator("…");
        ct.set_header(t.headers.iter().map(|h| {
            let c = comfy_table::Cell::new(h);
            if opts.color {
                c.add_attribute(Attribute::Bold)
            } else {
                c
            }
        }));
        ct.set_constraints(keep_whole(t, width));
        for row in &t.rows {
            let mut r = comfy_table::Row::from(row.iter().map(|c| {
                let mut cell = comfy_table::Cell::new(keep_indents(&c.text));
                if c.numeric {
                    cell = cell.set_alignment(CellAlignment::Right);
                }
                if opts.color {
                    if let Some(col) = tone_color(c.tone) {
                        cell = cell.fg(col);
                    }
                }
                cell
            }));
            if !t.tall {
                r.max_height(MAX_CELL_LINES);
            }
            ct.add_row(r);
        }
        s.push_str(&ct.to_string());
        if !left_out.is_empty() {
            s.push('\n');
            s.push_str(&wrap(
                &format!(
                    "({} left out at {width} columns: --width or --format json shows them)",
                    left_out.join(", ")
                ),
                usize::from(width),
            ));
        }
        s.push_str("\n\n");
    }
    s.push_str(&wrap(&report.summary(), usize::from(width)));
    s.push('\n');
    s
}

/// `text` wrapped at spaces to lines of at most `width` characters (a longer word stays whole).
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0usize;
    for word in text.split(' ') {
        let w = word.chars().count();
        if line > 0 && line + 1 + w > width {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += w;
    }
    out
}

/// Columns of short single words (ids, rule names, numbers, durations) keep their width while
/// the table shrinks, narrowest first, as long as every other column keeps room to wrap in; the
/// space left is shared by the other columns in proportion to their longest content, so a
/// message gets more room than a lock name.
fn keep_whole(t: &crate::view::Table, width: u16) -> Vec<comfy_table::ColumnConstraint> {
    use comfy_table::{ColumnConstraint, Width};
    const FREE_MIN: usize = 10;
    let (longest, one_word) = shapes(t);
    // Keep the narrowest one-word columns while the columns left still get room: text
    // columns FREE_MIN, other one-word columns ONE_WORD_MIN (plus borders).
    const ONE_WORD_MIN: usize = 4;
    let width = usize::from(width);
    let free = one_word.iter().filter(|&&w| !w).count();
    let mut order: Vec<(usize, usize)> = (0..t.headers.len())
        .filter(|&i| one_word[i])
        .map(|i| (longest[i] + 3, i))
        .collect();
    order.sort();
    let mut keep = vec![false; t.headers.len()];
    let mut kept = 0;
    let mut words_left = order.len();
    for (w, i) in order {
        words_left -= 1;
        let rest = free * (FREE_MIN + 3) + words_left * (ONE_WORD_MIN + 3);
        if kept + w + rest + 1 > width {
            break;
        }
        kept += w;
        keep[i] = true;
    }
    let rest: Vec<usize> = (0..t.headers.len()).filter(|&i| !keep[i]).collect();
    let room = width.saturating_sub(1 + kept + 3 * rest.len());
    let total: usize = rest
        .iter()
        .map(|&i| longest[i].min(200))
        .sum::<usize>()
        .max(1);
    let mut lower = vec![0usize; t.headers.len()];
    for &i in &rest {
        lower[i] = (room * longest[i].min(200) / total).clamp(3, longest[i].max(3));
    }
    // Never ask for more than the room: take the excess from the widest lower bounds.
    while rest.iter().map(|&i| lower[i]).sum::<usize>() > room {
        let Some(&i) = rest
            .iter()
            .filter(|&&i| lower[i] > 3)
            .max_by_key(|&&i| lower[i])
        else {
            break;
        };
        lower[i] -= 1;
    }
    (0..t.headers.len())
        .map(|i| {
            if keep[i] {
                ColumnConstraint::ContentWidth
            } else {
                let l = u16::try_from(lower[i]).unwrap_or(u16::MAX);
                ColumnConstraint::LowerBoundary(Width::Fixed(l))
            }
        })
        .collect()
}

/// Each column's longest content (header included), and whether every cell of it is one short
/// word (or a figure with its unit) that should not wrap.
fn shapes(t: &crate::view::Table) -> (Vec<usize>, Vec<bool>) {
    const SHORT: usize = 32;
    let longest: Vec<usize> = (0..t.headers.len())
        .map(|i| {
            t.rows
                .iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.text.chars().count())
                .chain(std::iter::once(t.headers[i].chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let one_word: Vec<bool> = (0..t.headers.len())
        .map(|i| {
            t.rows
                .iter()
                .filter_map(|r| r.get(i))
                .all(|c| !c.text.chars().any(char::is_whitespace) || looks_numeric(&c.text))
                && longest[i] <= SHORT
        })
        .collect();
    (longest, one_word)
}

/// Whether `t` fits `width` with every one-word column whole and room for the text columns.
fn comfortable(t: &crate::view::Table, width: u16) -> bool {
    let (longest, one_word) = shapes(t);
    let need: usize = (0..t.headers.len())
        .map(|i| if one_word[i] { longest[i] + 3 } else { 10 + 3 })
        .sum::<usize>()
        + 1;
    need <= usize::from(width)
}

/// `12 ms`, `1.2 MB`, `3,400`: a figure with its unit, which should not wrap either.
fn looks_numeric(text: &str) -> bool {
    let mut parts = text.split_whitespace();
    let first = parts.next().unwrap_or("");
    let unit = parts.next();
    parts.next().is_none()
        && first.starts_with(|c: char| c.is_ascii_digit() || c == '-')
        && unit.is_none_or(|u| u.len() <= 4)
}

#[derive(Serialize)]
struct TableView<'a> {
    title: &'a str,
    headers: &'a [String],
    rows: &'a [Vec<crate::view::Cell>],
    widths: Vec<usize>,
    numeric: Vec<bool>,
}

fn ansi(tone: &str) -> Option<&'static str> {
    match tone {
        "good" => Some("32"),
        "warn" | "warning" => Some("33"),
        "bad" | "error" => Some("31"),
        "dim" | "info" => Some("90"),
        "bold" => Some("1"),
        _ => None,
    }
}

fn render_template<R: Report>(
    report: &R,
    opts: &RenderOptions,
    name: &str,
    source: Option<&str>,
) -> Result<String, RenderError> {
    let terr = |e: tera::Error| {
        let mut message = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            message.push_str(": ");
            message.push_str(&s.to_string());
            src = s.source();
        }
        RenderError::Template {
            name: name.to_string(),
            message,
        }
    };
    let mut tera = tera::Tera::default();
    // HTML escapes every value a template prints unless it is marked `safe` (the SVG charts);
    // text and markdown print values as they are.
    if opts.format == Format::Html {
        tera.autoescape_on(vec![""]);
    } else {
        tera.autoescape_on(vec![]);
    }
    tera.add_raw_templates(TEMPLATES.iter().copied())
        .map_err(terr)?;
    if let Some(text) = source {
        tera.add_raw_template(name, text).map_err(terr)?;
    }
    let color = opts.color;
    tera.register_filter(
        "paint",
        move |v: &tera::Value, args: &HashMap<String, tera::Value>| {
            let s = tera::try_get_value!("paint", "value", String, v);
            let tone = args.get("tone").and_then(|t| t.as_str()).unwrap_or("plain");
            Ok(tera::Value::String(match (color, ansi(tone)) {
                (true, Some(code)) => format!("\x1b[{code}m{s}\x1b[0m"),
                _ => s,
            }))
        },
    );
    tera.register_filter(
        "pad",
        |v: &tera::Value, args: &HashMap<String, tera::Value>| {
            let s = match v {
                tera::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let width = args.get("width").and_then(|w| w.as_u64()).unwrap_or(0) as usize;
            let right = args.get("right").and_then(|r| r.as_bool()).unwrap_or(false);
            let n = s.chars().count();
            let fill = " ".repeat(width.saturating_sub(n));
            Ok(tera::Value::String(if right {
                fill + &s
            } else {
                s + &fill
            }))
        },
    );
    tera.register_filter("md", |v: &tera::Value, _: &HashMap<String, tera::Value>| {
        let s = match v {
            tera::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Ok(tera::Value::String(
            s.replace('\\', "\\\\")
                .replace('|', "\\|")
                .replace(['\n', '\r'], " "),
        ))
    });
    let tables = report.tables();
    let views: Vec<TableView> = tables
        .iter()
        .map(|t| {
            let mut widths: Vec<usize> = t.headers.iter().map(|h| h.chars().count()).collect();
            let mut numeric = vec![!t.rows.is_empty(); t.headers.len()];
            for row in &t.rows {
                for (i, c) in row.iter().enumerate().take(widths.len()) {
                    widths[i] = widths[i].max(c.text.chars().count());
                    numeric[i] &= c.numeric;
                }
            }
            TableView {
                title: &t.title,
                headers: &t.headers,
                rows: &t.rows,
                widths,
                numeric,
            }
        })
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert("report", &serde_json::to_value(report)?);
    ctx.insert("kind", report.kind());
    ctx.insert("summary", &report.summary());
    ctx.insert("tables", &views);
    ctx.insert("findings", report.findings());
    ctx.insert("lists_findings", &report.lists_findings());
    ctx.insert("color", &color);
    let charts: Vec<serde_json::Value> = if opts.format == Format::Html {
        report
            .charts()
            .iter()
            .map(|c| serde_json::json!({ "id": c.id, "title": c.title, "svg": chart::svg(c) }))
            .collect()
    } else {
        Vec::new()
    };
    ctx.insert("charts", &charts);
    ctx.insert(
        "view",
        &if opts.format == Format::Html {
            report.view_data()
        } else {
            None
        },
    );
    let s = tera.render(name, &ctx).map_err(terr)?;
    // Padding leaves trailing spaces; drop them.
    let mut out: String = s
        .trim_start_matches('\n')
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n");
    out.push('\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::report::{FingerprintReport, ParseReport};

    fn render_str<R: Report>(r: &R, format: Format) -> String {
        let mut buf = Vec::new();
        render(
            r,
            &RenderOptions {
                format,
                ..Default::default()
            },
            &mut buf,
        )
        .unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn every_format_renders() {
        let r = FingerprintReport::build(
            "q.sql",
            "select 1; select 2; select * from t where a in (1,2)",
        );
        let json: serde_json::Value = serde_json::from_str(&render_str(&r, Format::Json)).unwrap();
        assert_eq!(json["groups"][0]["count"], 2);
        let table = render_str(&r, Format::Table);
        assert!(table.contains("select $1"), "{table}");
        assert!(table.contains("2 distinct fingerprint"));
        let md = render_str(&r, Format::Markdown);
        assert!(md.contains("```sql\nselect $1\n```"), "{md}");
        let txt = render_str(&r, Format::Text);
        assert!(
            txt.lines()
                .any(|l| l.contains("select * from t where a in ($1 /*, ... */)")),
            "{txt}"
        );
        assert!(!txt.contains('\x1b'));
    }

    #[test]
    fn a_fix_is_shown_once_and_the_summary_comes_last() {
        let mut f =
            crate::analyze::plan::report::PlanAnalyzeReport::build(&[], &Default::default());
        let mk = |line: usize| {
            Finding::new(
                crate::finding::RuleId::SeqScanFilter,
                format!("scan {line}"),
            )
            .at(crate::finding::Location {
                file: Some("p.json".into()),
                line: Some(line),
                ..Default::default()
            })
            .with_suggestion("CREATE INDEX CONCURRENTLY t_a_idx ON t (a);")
        };
        f.findings = vec![mk(1), mk(2)];
        let text = render_str(&f, Format::Table);
        assert_eq!(
            text.matches("CREATE INDEX CONCURRENTLY").count(),
            1,
            "{text}"
        );
        assert!(text.contains("the same fix as above"), "{text}");
        let last = text.trim_end().lines().last().unwrap().to_string();
        assert_eq!(last, f.summary(), "{text}");
        let txt = render_str(&f, Format::Text);
        assert_eq!(txt.trim_end().lines().last().unwrap(), f.summary(), "{txt}");
    }

    #[test]
    fn markdown_escapes_pipes_and_lists_findings() {
        let c = crate::sql::report::ClassifyReport::build("m.sql", "select a || b from t");
        let md = render_str(&c, Format::Markdown);
        assert!(md.contains("select a \\|\\| b from t"), "{md}");
        let r = ParseReport::build("m.sql", "select a || b from t; frobnicate;");
        let md = render_str(&r, Format::Markdown);
        assert!(md.contains("`sql-parse-error` at `m.sql:1:23`"), "{md}");
    }

    #[test]
    fn template_override_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.tera");
        std::fs::write(&p, "{{ kind }}: {{ report.statements | length }}").unwrap();
        let r = FingerprintReport::build("q.sql", "select 1; select 2");
        let mut buf = Vec::new();
        let opts = RenderOptions {
            format: Format::Text,
            template: Some(p.clone()),
            ..Default::default()
        };
        render(&r, &opts, &mut buf).unwrap();
        assert_eq!(String::from_utf8(buf).unwrap(), "sql-fingerprint: 2\n");
        std::fs::write(&p, "{{ nope.missing }}").unwrap();
        let err = render(&r, &opts, &mut Vec::new()).unwrap_err().to_string();
        assert!(err.contains("t.tera"), "{err}");
    }

    #[test]
    fn colour_only_when_asked() {
        let r = ParseReport::build("m.sql", "frobnicate;");
        let mut buf = Vec::new();
        render(
            &r,
            &RenderOptions {
                format: Format::Text,
                color: true,
                ..Default::default()
            },
            &mut buf,
        )
        .unwrap();
        assert!(String::from_utf8(buf).unwrap().contains("\x1b[33mwarning"));
    }
}
