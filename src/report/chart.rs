//! Charts as inline SVG, drawn from a report's [`Chart`] data so HTML templates only place
//! them: horizontal bars (shares, sizes per node), columns over time (load per minute) and
//! histograms. Every chart has a `<title>` and a text description for screen readers, labels
//! escaped, values printed beside the bars (colour is never the only signal), and no external
//! reference. Colours come from CSS classes the layout defines for light and dark schemes.

use super::xml_escape;
use crate::view::{fmt_value, Chart, ChartKind, Tone};
use std::fmt::Write;

fn tone_class(t: Tone) -> &'static str {
    match t {
        Tone::Plain => "c-plain",
        Tone::Good => "c-good",
        Tone::Warn => "c-warn",
        Tone::Bad => "c-bad",
        Tone::Dim => "c-dim",
    }
}

/// A finite, non-negative value (NaN and negatives draw as 0).
fn clean(v: f64) -> f64 {
    if v.is_finite() && v > 0.0 {
        v
    } else {
        0.0
    }
}

/// A label cut to `max` characters with `…`.
fn cut(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        let mut s: String = label.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// The chart as an `<svg>` element.
pub fn svg(chart: &Chart) -> String {
    if chart.points.is_empty() {
        return format!(
            "<svg class=\"chart\" role=\"img\" width=\"320\" height=\"40\" viewBox=\"0 0 320 40\" aria-label=\"{t}: no data\"><title>{t}: no data</title><text x=\"4\" y=\"24\" class=\"c-axis\">no data</text></svg>",
            t = xml_escape(&chart.title)
        );
    }
    match chart.kind {
        ChartKind::Bars => bars(chart),
        ChartKind::Columns | ChartKind::Histogram => columns(chart),
        ChartKind::Flow => flow(chart),
    }
}

/// A description of the data in words, for `aria-label`/`<desc>`: the first points and the
/// largest.
fn describe(chart: &Chart) -> String {
    let max = chart
        .points
        .iter()
        .max_by(|a, b| clean(a.value).total_cmp(&clean(b.value)));
    let mut s = format!("{} ({} points", chart.title, chart.points.len());
    if let Some(m) = max {
        let at = match &m.to {
            Some(to) => format!("{} → {to}", m.label),
            None => m.label.clone(),
        };
        let _ = write!(s, "; largest {} at {at}", m.shown(&chart.unit));
    }
    s.push(')');
    s
}

fn bars(chart: &Chart) -> String {
    const ROW: f64 = 22.0;
    const LABEL_W: f64 = 220.0;
    const BAR_W: f64 = 300.0;
    const VALUE_W: f64 = 220.0;
    let max = chart
        .points
        .iter()
        .map(|p| clean(p.value).max(p.mark.map(clean).unwrap_or(0.0)))
        .fold(0.0, f64::max);
    let h = ROW * chart.points.len() as f64 + 8.0;
    let w = LABEL_W + BAR_W + VALUE_W;
    let mut s = format!(
        "<svg class=\"chart\" role=\"img\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" aria-label=\"{d}\"><title>{t}</title><desc>{d}</desc>",
        t = xml_escape(&chart.title),
        d = xml_escape(&describe(chart))
    );
    for (i, p) in chart.points.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let len = if max > 0.0 {
            BAR_W * clean(p.value) / max
        } else {
            0.0
        };
        let _ = write!(
            s,
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" class=\"c-label\">{l}</text><rect x=\"{LABEL_W}\" y=\"{ry}\" width=\"{len:.1}\" height=\"{bh}\" class=\"{c}\"><title>{full}: {v}</title></rect>",
            lx = LABEL_W - 6.0,
            ty = y + 15.0,
            l = xml_escape(&cut(&p.label, 32)),
            ry = y + 3.0,
            bh = ROW - 6.0,
            c = tone_class(p.tone),
            full = xml_escape(&p.label),
            v = xml_escape(&p.shown(&chart.unit)),
        );
        if let Some(m) = p.mark {
            let x = LABEL_W
                + if max > 0.0 {
                    BAR_W * clean(m) / max
                } else {
                    0.0
                };
            let _ = write!(
                s,
                "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{}\" y2=\"{}\" class=\"c-mark\"><title>{} {}</title></line>",
                y + 1.0,
                y + ROW - 1.0,
                xml_escape(&chart.marks),
                xml_escape(&fmt_value(m, &chart.unit))
            );
        }
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" class=\"c-value\">{}</text>",
            LABEL_W + BAR_W + 6.0,
            y + 15.0,
            xml_escape(&p.shown(&chart.unit))
        );
    }
    s.push_str("</svg>");
    s
}

fn columns(chart: &Chart) -> String {
    const H: f64 = 160.0;
    const TOP: f64 = 18.0;
    const BOTTOM: f64 = 34.0;
    const LEFT: f64 = 64.0;
    let n = chart.points.len() as f64;
    let col = (720.0 / n).clamp(3.0, 80.0);
    let w = LEFT + col * n + 10.0;
    let max = chart
        .points
        .iter()
        .map(|p| clean(p.value))
        .fold(0.0, f64::max);
    let mut s = format!(
        "<svg class=\"chart\" role=\"img\" width=\"{w:.0}\" height=\"{tot}\" viewBox=\"0 0 {w:.0} {tot}\" aria-label=\"{d}\"><title>{t}</title><desc>{d}</desc>",
        tot = TOP + H + BOTTOM,
        t = xml_escape(&chart.title),
        d = xml_escape(&describe(chart))
    );
    // The axis: the maximum and zero.
    let _ = write!(
        s,
        "<line x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{b}\" class=\"c-axisline\"/><line x1=\"{LEFT}\" x2=\"{w:.0}\" y1=\"{b}\" y2=\"{b}\" class=\"c-axisline\"/><text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" class=\"c-axis\">{m}</text><text x=\"{lx}\" y=\"{b}\" text-anchor=\"end\" class=\"c-axis\">0</text>",
        b = TOP + H,
        lx = LEFT - 4.0,
        ty = TOP + 4.0,
        m = xml_escape(&fmt_value(max, &chart.unit)),
    );
    // Labels under the axis: the first, the last and a few between.
    let every = (chart.points.len() / 6).max(1);
    for (i, p) in chart.points.iter().enumerate() {
        let x = LEFT + col * i as f64;
        let hgt = if max > 0.0 {
            H * clean(p.value) / max
        } else {
            0.0
        };
        let _ = write!(
            s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{hgt:.1}\" class=\"{}\"><title>{}: {}</title></rect>",
            x + 0.5,
            TOP + H - hgt,
            (col - 1.0).max(1.0),
            tone_class(p.tone),
            xml_escape(&p.label),
            xml_escape(&p.shown(&chart.unit))
        );
        if i % every == 0 || i + 1 == chart.points.len() {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{}\" class=\"c-axis\" text-anchor=\"start\">{}</text>",
                x,
                TOP + H + 14.0 + if (i / every) % 2 == 1 { 12.0 } else { 0.0 },
                xml_escape(&cut(axis_label(&p.label), 18))
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// Sources on the left, destinations on the right, one band per flow as wide as its share of
/// the largest, labelled with its value.
fn flow(chart: &Chart) -> String {
    const W: f64 = 720.0;
    const ROW: f64 = 44.0;
    const BOX_W: f64 = 150.0;
    let mut left: Vec<&str> = Vec::new();
    let mut right: Vec<&str> = Vec::new();
    for p in &chart.points {
        if !left.contains(&p.label.as_str()) {
            left.push(&p.label);
        }
        let to = p.to.as_deref().unwrap_or("?");
        if !right.contains(&to) {
            right.push(to);
        }
    }
    let rows = left.len().max(right.len()) as f64;
    let h = ROW * rows + 16.0;
    let max = chart
        .points
        .iter()
        .map(|p| clean(p.value))
        .fold(0.0, f64::max);
    let y_of = |list: &[&str], name: &str| {
        8.0 + ROW * list.iter().position(|n| *n == name).unwrap_or(0) as f64 + ROW / 2.0
    };
    let mut s = format!(
        "<svg class=\"chart\" role=\"img\" width=\"{W}\" height=\"{h}\" viewBox=\"0 0 {W} {h}\" aria-label=\"{d}\"><title>{t}</title><desc>{d}</desc>",
        t = xml_escape(&chart.title),
        d = xml_escape(&describe(chart))
    );
    for p in &chart.points {
        let (y1, y2) = (
            y_of(&left, &p.label),
            y_of(&right, p.to.as_deref().unwrap_or("?")),
        );
        let width = if max > 0.0 {
            2.0 + 16.0 * clean(p.value) / max
        } else {
            2.0
        };
        let (x1, x2) = (BOX_W, W - BOX_W);
        let mid = (x1 + x2) / 2.0;
        let _ = write!(
            s,
            "<path d=\"M{x1} {y1:.1} C{mid} {y1:.1} {mid} {y2:.1} {x2} {y2:.1}\" class=\"c-flow {}\" stroke-width=\"{width:.1}\" fill=\"none\"><title>{} → {}: {}</title></path><text x=\"{mid}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"c-value\">{}</text>",
            tone_class(p.tone),
            xml_escape(&p.label),
            xml_escape(p.to.as_deref().unwrap_or("?")),
            xml_escape(&p.shown(&chart.unit)),
            (y1 + y2) / 2.0 - width / 2.0 - 3.0,
            xml_escape(&cut(&p.shown(&chart.unit), 40)),
        );
    }
    for (list, x, anchor) in [
        (&left, BOX_W - 6.0, "end"),
        (&right, W - BOX_W + 6.0, "start"),
    ] {
        for n in list.iter() {
            let y = y_of(list, n);
            let _ = write!(
                s,
                "<text x=\"{x}\" y=\"{:.1}\" text-anchor=\"{anchor}\" class=\"c-label\">{}</text>",
                y + 4.0,
                xml_escape(&cut(n, 22))
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// The part of a label an axis has room for: `10:42` of `2024-03-04T10:42:00Z` (the bar's
/// tooltip keeps the whole label).
fn axis_label(label: &str) -> &str {
    let b = label.as_bytes();
    if b.len() >= 16 && b[4] == b'-' && (b[10] == b'T' || b[10] == b' ') && b[13] == b':' {
        &label[11..16]
    } else {
        label
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::ChartPoint;

    fn chart(kind: ChartKind, points: Vec<ChartPoint>) -> Chart {
        Chart {
            id: "c".into(),
            title: "Load <per> minute".into(),
            kind,
            marks: "target".into(),
            unit: "ms".into(),
            points,
        }
    }

    #[test]
    fn labels_and_titles_are_escaped_and_every_bar_has_its_value_in_text() {
        let c = chart(
            ChartKind::Bars,
            vec![
                ChartPoint::new("<script>alert(1)</script>", 12.0),
                ChartPoint::new("b\"&'", 3.0).tone(Tone::Bad),
            ],
        );
        let s = svg(&c);
        assert!(!s.contains("<script>"), "{s}");
        assert!(s.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(s.contains("b&quot;&amp;&#39;"));
        assert!(s.contains("<title>Load &lt;per&gt; minute</title>"));
        assert!(
            s.contains(">12.0 ms</text>") && s.contains(">3.0 ms</text>"),
            "{s}"
        );
        assert!(s.contains("class=\"c-bad\""));
        assert!(!s.contains("http"), "no external reference: {s}");
        assert_eq!(s.matches("<svg").count(), s.matches("</svg>").count());
    }

    #[test]
    fn bars_scale_to_the_largest_value_and_bad_numbers_draw_as_zero() {
        let c = chart(
            ChartKind::Bars,
            vec![
                ChartPoint::new("a", 100.0),
                ChartPoint::new("b", 50.0),
                ChartPoint::new("nan", f64::NAN),
                ChartPoint::new("neg", -4.0),
            ],
        );
        let s = svg(&c);
        assert!(s.contains("width=\"300.0\""), "{s}");
        assert!(s.contains("width=\"150.0\""), "{s}");
        assert_eq!(s.matches("width=\"0.0\"").count(), 2, "{s}");
        assert!(!s.contains("NaN") && !s.contains("inf"), "{s}");
    }

    #[test]
    fn a_target_mark_is_drawn_and_described() {
        let mut p = ChartPoint::new("node a", 80.0);
        p.mark = Some(100.0);
        let mut c = chart(ChartKind::Bars, vec![p]);
        c.unit = "bytes".into();
        let s = svg(&c);
        assert!(s.contains("class=\"c-mark\""), "{s}");
        assert!(s.contains("<title>target 100 B</title>"), "{s}");
    }

    #[test]
    fn columns_and_empty_charts() {
        let pts = (0..90)
            .map(|i| ChartPoint::new(format!("10:{i:02}"), f64::from(i % 7)))
            .collect();
        let s = svg(&chart(ChartKind::Columns, pts));
        assert_eq!(s.matches("<rect").count(), 90);
        assert!(
            s.contains(">10:00</text>") && s.contains(">10:89</text>"),
            "{s}"
        );
        let e = svg(&chart(ChartKind::Histogram, vec![]));
        assert!(e.contains("no data"), "{e}");
    }

    #[test]
    fn flows_go_from_each_source_to_each_destination() {
        let mut a = ChartPoint::new("node <a>", 30.0);
        a.to = Some("node c".into());
        let mut b = ChartPoint::new("node <a>", 10.0);
        b.to = Some("node d".into());
        let s = svg(&chart(ChartKind::Flow, vec![a, b]));
        assert_eq!(s.matches("<path").count(), 2, "{s}");
        assert_eq!(
            s.matches(">node &lt;a&gt;</text>").count(),
            1,
            "one box per source: {s}"
        );
        assert!(
            s.contains("<title>node &lt;a&gt; → node c: 30.0 ms</title>"),
            "{s}"
        );
        assert!(
            s.contains("stroke-width=\"18.0\"") && s.contains("stroke-width=\"7.3\""),
            "{s}"
        );
    }

    #[test]
    fn values_print_with_their_units() {
        assert_eq!(fmt_value(1500.0, "ms"), "1.50 s");
        assert_eq!(fmt_value(1_500_000.0, "bytes"), "1.5 MB");
        assert_eq!(fmt_value(12345.0, ""), "12,345");
        assert_eq!(fmt_value(12.34, "%"), "12.3%");
        assert_eq!(fmt_value(3.0, "queries"), "3 queries");
    }
}
