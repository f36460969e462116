//! psql's `\pset format wrapped`: a cell wider than the terminal is cut at the column's width,
//! the cut marked with `.` (`…` with `\pset linestyle unicode`) in the right margin and, from
//! border 1 on and in the expanded display, once more where the continuation line starts.
//! This module joins the pieces back so the table reads as the aligned format does.
//!
//! Only cuts psql marked are joined: a line as wide as the widest marked line, ending in the
//! mark (before the frame of border 2), followed by a line carrying the same mark at the column
//! where the cut line's content began — or, with border 0 and no mark on the continuation, a
//! line exactly one column wider than the rule. A table a terminal or `fold` cut (its rule cut
//! too, so a rule line follows a rule line) is left to the text reader's own joining: there a
//! `.` at the end of a line is part of a figure (`time=35.787.` / `.798`), not a mark.

use super::paste::Line;
use super::scan::Trim;
use std::borrow::Cow;
use unicode_width::UnicodeWidthStr;

/// The marks psql writes at a cut: ascii and unicode linestyles.
const MARKS: [char; 2] = ['.', '…'];

/// The lines with psql's wrapped cells joined back (borrowed as they were when nothing was cut).
pub(crate) fn join<'a>(
    lines: &[(usize, &'a str)],
    is_rule: impl Fn(&str) -> bool,
) -> Vec<Line<'a>> {
    let as_they_are = || lines.iter().map(|&(n, l)| (n, Cow::Borrowed(l))).collect();
    // The table's first rule: the one under the header, the top of border 2, or the line of the
    // first expanded record. Any cut is below it.
    let is_record = |l: &str| {
        let t = l.ws_start();
        t.starts_with("* Record ")
            || (t.starts_with(['-', '+', '─', '┌', '╔']) && t.contains("[ RECORD "))
    };
    let Some(rule) = lines
        .iter()
        .take(64)
        .position(|(_, l)| is_rule(l.ws()) || is_record(l))
    else {
        return as_they_are();
    };
    let body = &lines[rule + 1..];
    // The width psql cut at: the widest line that ends in a mark.
    let Some(width) = body
        .iter()
        .filter(|(_, l)| cut_mark(l).is_some())
        .map(|(_, l)| l.width())
        .max()
    else {
        return as_they_are();
    };
    // A rule cut in two by a terminal: not psql's wrapping.
    let folded = lines
        .windows(2)
        .any(|w| is_rule(w[0].1.ws()) && is_rule(w[1].1.ws()));
    if folded {
        return as_they_are();
    }
    // Border 0 of the aligned format marks only the cut line, one column past the rule.
    let expanded = lines.iter().any(|(_, l)| is_record(l));
    let border0 = !expanded
        && body
            .iter()
            .find(|(_, l)| !l.ws().is_empty())
            .is_some_and(|(_, l)| !l.starts_with(' ') && !l.starts_with(super::paste::is_frame))
        && lines[rule].1.ws_end().width() + 1 == width;
    let continues = |cut: &str, mark: char, next: &str| -> Option<usize> {
        if border0 {
            return Some(0);
        }
        // Spaces and frames, then the mark, at a column where the cut line has the space
        // before its content (or the mark of its own continuation), under the same frames.
        let (at, c) = next
            .char_indices()
            .find(|&(_, c)| c != ' ' && !super::paste::is_frame(c))?;
        if c != mark {
            return None;
        }
        let mut above = cut.chars();
        for c in next[..at].chars() {
            let a = above.next()?;
            if super::paste::is_frame(c) && a != c {
                return None;
            }
        }
        matches!(above.next(), Some(a) if a == ' ' || a == mark).then_some(at + mark.len_utf8())
    };
    let mut out: Vec<Line<'a>> = Vec::with_capacity(lines.len());
    out.extend(lines[..=rule].iter().map(|&(n, l)| (n, Cow::Borrowed(l))));
    let mut i = rule + 1;
    while i < lines.len() {
        let (n, first) = lines[i];
        let mut joined = String::new();
        let (mut seg, mut from) = (first, 0);
        while let Some((mark, end)) = cut_mark(seg).filter(|_| seg.width() == width) {
            let Some(next) = lines
                .get(i + 1)
                .and_then(|&(_, next)| continues(seg, mark, next).map(|at| (next, at)))
            else {
                break;
            };
            joined.push_str(&seg[from..end]);
            (seg, from) = next;
            i += 1;
        }
        if joined.is_empty() {
            out.push((n, Cow::Borrowed(first)));
        } else {
            joined.push_str(&seg[from..]);
            out.push((n, Cow::Owned(joined)));
        }
        i += 1;
    }
    out
}

/// The mark at the end of a cut line and where it starts: `….` or `….|` (border 2).
fn cut_mark(l: &str) -> Option<(char, usize)> {
    let t = l
        .strip_suffix(super::paste::is_frame)
        .filter(|_| l.ws_start().starts_with(super::paste::is_frame))
        .unwrap_or(l);
    let mark = t.chars().next_back().filter(|c| MARKS.contains(c))?;
    Some((mark, t.len() - mark.len_utf8()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(input: &str) -> Vec<String> {
        let lines: Vec<(usize, &str)> = input.lines().enumerate().collect();
        join(&lines, |l| {
            l.chars()
                .all(|c| matches!(c, '-' | '+' | '─' | '┼' | '┌' | '┐' | '├' | '┤'))
                && !l.is_empty()
        })
        .into_iter()
        .map(|(_, l)| l.into_owned())
        .collect()
    }

    #[test]
    fn border_1_cuts_joined_with_their_spaces() {
        let t = "     QUERY PLAN      \n\
                 --------------------\n \
                 Seq Scan  (cost=0.0.\n\
                 .0..1.00 rows=1) (ac.\n\
                 .tual)\n   \
                 Filter: x\n";
        assert_eq!(
            joined(t)[2..],
            [
                " Seq Scan  (cost=0.00..1.00 rows=1) (actual)",
                "   Filter: x"
            ]
        );
    }

    #[test]
    fn border_0_cut_one_column_past_the_rule() {
        let t = "   QUERY PLAN    \n\
                 -------------------\n\
                 Seq Scan  (cost=0.0.\n\
                 0..1.00 rows=1)\n  \
                 Filter: x\n";
        assert_eq!(
            joined(t)[2..],
            ["Seq Scan  (cost=0.00..1.00 rows=1)", "  Filter: x"]
        );
    }

    #[test]
    fn border_2_and_unicode() {
        let t = "┌─────────────────┐\n\
                 │   QUERY PLAN    │\n\
                 ├─────────────────┤\n\
                 │ Seq Scan  (cost…│\n\
                 │…=0.00..1.00)    │\n\
                 └─────────────────┘\n";
        assert_eq!(joined(t)[3], "│ Seq Scan  (cost=0.00..1.00)    │");
    }

    #[test]
    fn expanded_records() {
        let t = "-[ RECORD 1 ]-----------\n\
                 QUERY PLAN | Seq Scan  (.\n           \
                 |.cost=0.00...\n           \
                 |.1.00 rows=1.\n           \
                 |.)\n";
        assert_eq!(
            joined(t)[1],
            "QUERY PLAN | Seq Scan  (cost=0.00..1.00 rows=1)"
        );
    }

    #[test]
    fn a_folded_table_is_left_alone() {
        // A terminal cut the rule too: the dots are figures.
        let t = "     QUERY PLAN      \n\
                 --------------------\n\
                 -----\n \
                 Sort  (actual time=35.\n\
                 .798 rows=1)\n";
        assert_eq!(joined(t)[3..], [" Sort  (actual time=35.", ".798 rows=1)"]);
    }

    #[test]
    fn lines_that_merely_end_in_a_dot_are_not_cuts() {
        let t = "  QUERY PLAN  \n\
                 --------------\n \
                 Filter: (a = '.\n \
                 b')\n";
        assert_eq!(joined(t)[2..], [" Filter: (a = '.", " b')"]);
    }
}
