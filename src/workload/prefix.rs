//! `log_line_prefix`: compiling a prefix as written in postgresql.conf into a line matcher, and
//! detecting the prefix of a log from the common ones.

use super::{parse_timestamp, WorkloadError};

/// One piece of a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(Vec<u8>),
    Field(u8),
    /// `%q`: non-session processes stop the prefix here.
    Stop,
}

/// A compiled `log_line_prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix {
    text: String,
    parts: Vec<Part>,
}

/// The fields a prefix gave for one line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields<'a> {
    /// `%m`/`%t`/`%n` as epoch ms.
    pub ts_ms: Option<i64>,
    /// `%p`.
    pub pid: Option<&'a str>,
    /// `%c`.
    pub session_id: Option<&'a str>,
    /// `%u`.
    pub user: Option<&'a str>,
    /// `%d`.
    pub database: Option<&'a str>,
    /// `%a`.
    pub application: Option<&'a str>,
    /// `%h`/`%r`.
    pub host: Option<&'a str>,
}

/// Message severities that can follow the prefix.
pub const LEVELS: &[&str] = &[
    "LOG",
    "ERROR",
    "STATEMENT",
    "DETAIL",
    "HINT",
    "CONTEXT",
    "FATAL",
    "WARNING",
    "NOTICE",
    "INFO",
    "PANIC",
    "QUERY",
    "LOCATION",
    "DEBUG1",
    "DEBUG2",
    "DEBUG3",
    "DEBUG4",
    "DEBUG5",
    "DEBUG",
];

/// The prefixes tried when none is given (postgresql.conf's default and common choices).
pub const COMMON: &[&str] = &[
    "%m [%p] %q%u@%d ",
    "%m [%p] ",
    "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    "%m [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    "%t [%p]: [%l-1] user=%u,db=%d ",
    "%m [%p]: [%l-1] user=%u,db=%d ",
    "%t [%p]: [%l-1] ",
    "%m [%p]: [%l-1] ",
    "%t:%r:%u@%d:[%p]: ",
    "%m %u@%d [%p] ",
    "%t [%p] %q%u@%d ",
    "%t [%p] ",
    "%m [%p] %q%a %u@%d ",
    "%m [%p-%l] %q%u@%d ",
];

/// Split `LEVEL:  message` after a prefix. Returns the level and the message.
pub fn split_level(rest: &[u8]) -> Option<(&str, &[u8])> {
    let colon = rest.iter().take(10).position(|&c| c == b':')?;
    let level = std::str::from_utf8(&rest[..colon]).ok()?;
    if !LEVELS.contains(&level) {
        return None;
    }
    let mut msg = &rest[colon + 1..];
    while let [b' ', tail @ ..] = msg {
        msg = tail;
    }
    Some((level, msg))
}

impl Prefix {
    /// Compile a prefix as written in postgresql.conf (`%m [%p] %q%u@%d `).
    pub fn parse(text: &str) -> Result<Prefix, WorkloadError> {
        let mut parts = Vec::new();
        let mut lit = Vec::new();
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                let Some(&c) = b.get(i + 1) else {
                    return Err(WorkloadError::BadPrefix {
                        prefix: text.to_string(),
                        message: "ends with a lone %".to_string(),
                    });
                };
                // Padding such as %-10u is not supported for matching: skip the digits.
                let mut j = i + 1;
                let mut c = c;
                while c == b'-' || c.is_ascii_digit() {
                    j += 1;
                    c = *b.get(j).unwrap_or(&b'%');
                }
                match c {
                    b'%' => lit.push(b'%'),
                    b'q' => {
                        if !lit.is_empty() {
                            parts.push(Part::Lit(std::mem::take(&mut lit)));
                        }
                        parts.push(Part::Stop);
                    }
                    b'a' | b'u' | b'd' | b'r' | b'h' | b'b' | b'p' | b'P' | b't' | b'm' | b'n'
                    | b'i' | b'e' | b'c' | b'l' | b's' | b'v' | b'x' | b'Q' => {
                        if !lit.is_empty() {
                            parts.push(Part::Lit(std::mem::take(&mut lit)));
                        }
                        parts.push(Part::Field(c));
                    }
                    other => {
                        return Err(WorkloadError::BadPrefix {
                            prefix: text.to_string(),
                            message: format!("unknown escape %{}", other as char),
                        })
                    }
                }
                i = j + 1;
            } else {
                lit.push(b[i]);
                i += 1;
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Prefix {
            text: text.to_string(),
            parts,
        })
    }

    /// The prefix as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Match the prefix at the start of `line`; the fields and where the rest (`LEVEL:  …`)
    /// starts. A match is only accepted when a known level follows.
    pub fn match_line<'a>(&self, line: &'a [u8]) -> Option<(Fields<'a>, usize)> {
        let mut f = Fields::default();
        let mut stop_at: Option<(usize, Fields<'a>)> = None;
        match self.match_from(line, 0, 0, &mut f, &mut stop_at) {
            Some(end) if split_level(&line[end..]).is_some() => Some((f, end)),
            _ => {
                let (end, f) = stop_at?;
                split_level(&line[end..]).map(|_| (f, end))
            }
        }
    }

    fn match_from<'a>(
        &self,
        line: &'a [u8],
        mut pos: usize,
        start_part: usize,
        f: &mut Fields<'a>,
        stop_at: &mut Option<(usize, Fields<'a>)>,
    ) -> Option<usize> {
        let parts = &self.parts;
        let mut k = start_part;
        while k < parts.len() {
            match &parts[k] {
                Part::Lit(l) => {
                    if !line[pos..].starts_with(l) {
                        return None;
                    }
                    pos += l.len();
                }
                Part::Stop => {
                    *stop_at = Some((pos, f.clone()));
                }
                Part::Field(c) => {
                    let rest = &line[pos..];
                    let used = match c {
                        b'm' | b't' | b's' => {
                            let (ts, mut used) = parse_timestamp(rest)?;
                            if *c != b's' {
                                f.ts_ms = Some(ts);
                            }
                            // A zone name follows: " UTC", " CET", " +02".
                            if rest.get(used) == Some(&b' ')
                                && rest.get(used + 1).is_some_and(|b| {
                                    b.is_ascii_alphabetic() || *b == b'+' || *b == b'-'
                                })
                            {
                                let z = rest[used + 1..]
                                    .iter()
                                    .position(|&b| b == b' ')
                                    .unwrap_or(rest.len() - used - 1);
                                used += 1 + z;
                            }
                            used
                        }
                        b'n' => {
                            let n = rest
                                .iter()
                                .position(|b| !(b.is_ascii_digit() || *b == b'.'))
                                .unwrap_or(rest.len());
                            let s = std::str::from_utf8(&rest[..n]).ok()?;
                            f.ts_ms = Some((s.parse::<f64>().ok()? * 1000.0) as i64);
                            n
                        }
                        b'p' | b'P' | b'l' => {
                            let n = rest
                                .iter()
                                .position(|b| !b.is_ascii_digit())
                                .unwrap_or(rest.len());
                            if n == 0 {
                                return None;
                            }
                            if *c == b'p' {
                                f.pid = std::str::from_utf8(&rest[..n]).ok();
                            }
                            n
                        }
                        _ => {
                            // Free text up to the next literal (or a space when last).
                            let n = match parts.get(k + 1) {
                                Some(Part::Lit(next)) => find(rest, next)?,
                                _ => rest.iter().position(|&b| b == b' ').unwrap_or(rest.len()),
                            };
                            let v = std::str::from_utf8(&rest[..n]).ok()?;
                            match c {
                                b'u' => f.user = Some(v),
                                b'd' => f.database = Some(v),
                                b'a' => f.application = Some(v),
                                b'c' => f.session_id = Some(v),
                                b'h' | b'r' => f.host = Some(v),
                                _ => {}
                            }
                            n
                        }
                    };
                    pos += used;
                }
            }
            k += 1;
        }
        Some(pos)
    }

    /// Pick the common prefix that matches most of `sample`'s lines (at least half of those
    /// that start an entry), or say that none does.
    pub fn detect(sample: &[u8]) -> Result<Prefix, WorkloadError> {
        let lines: Vec<&[u8]> = sample
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty() && !l.starts_with(b"\t") && !l.starts_with(b" "))
            .take(500)
            .collect();
        if lines.is_empty() {
            return Err(WorkloadError::UnknownFormat("the log is empty".to_string()));
        }
        let mut best: Option<(usize, Prefix)> = None;
        for text in COMMON {
            let p = Prefix::parse(text)?;
            let hits = lines.iter().filter(|l| p.match_line(l).is_some()).count();
            // Prefer the prefix that extracts more fields when hit counts tie.
            if best.as_ref().is_none_or(|(h, _)| hits > *h) {
                best = Some((hits, p));
            }
        }
        match best {
            Some((hits, p)) if hits * 2 >= lines.len() && hits > 0 => Ok(p),
            _ => Err(WorkloadError::UnknownFormat(format!(
                "no common log_line_prefix matches this log (first line: {:?}); pass --prefix as set in postgresql.conf, or --format csvlog|jsonlog|trace",
                String::from_utf8_lossy(&lines[0][..lines[0].len().min(80)])
            ))),
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_debian_style_prefix() {
        let p = Prefix::parse("%m [%p] %q%u@%d ").unwrap();
        let line = b"2024-03-04 10:00:00.123 UTC [41234] app@shop LOG:  duration: 0.412 ms  statement: SELECT 1";
        let (f, end) = p.match_line(line).unwrap();
        assert_eq!(f.pid, Some("41234"));
        assert_eq!((f.user, f.database), (Some("app"), Some("shop")));
        assert_eq!(f.ts_ms, Some(1_709_546_400_123));
        assert!(line[end..].starts_with(b"LOG:  duration"));
        // A background process stops at %q.
        let (f, end) = p
            .match_line(b"2024-03-04 10:00:00.123 UTC [77] LOG:  checkpoint starting: time")
            .unwrap();
        assert_eq!((f.pid, f.user), (Some("77"), None));
        assert_eq!(
            &b"2024-03-04 10:00:00.123 UTC [77] LOG:  checkpoint starting: time"[end..end + 4],
            b"LOG:"
        );
        // An '@' in the message does not fool the user@db match.
        let (f, _) = p
            .match_line(b"2024-03-04 10:00:00.123 UTC [77] LOG:  mail a@b.c sent")
            .unwrap();
        assert_eq!(f.user, None);
    }

    #[test]
    fn pgbadger_style_prefix() {
        let p = Prefix::parse("%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ").unwrap();
        let (f, _) = p
            .match_line(b"2024-03-04 10:00:00 UTC [123]: [4-1] user=bob,db=shop,app=psql,client=10.0.0.1 ERROR:  boom")
            .unwrap();
        assert_eq!(
            (f.user, f.database, f.application, f.host),
            (Some("bob"), Some("shop"), Some("psql"), Some("10.0.0.1"))
        );
    }

    #[test]
    fn detection_and_errors() {
        let log = b"2024-03-04 10:00:00.123 UTC [1] app@shop LOG:  duration: 1 ms  statement: SELECT 1\n\tFROM t\n";
        assert_eq!(Prefix::detect(log).unwrap().text(), "%m [%p] %q%u@%d ");
        let err = Prefix::detect(b"hello\nworld\n").unwrap_err().to_string();
        assert!(err.contains("--prefix"), "{err}");
        assert!(Prefix::parse("%m %Z").is_err());
        assert!(Prefix::parse("%m %").is_err());
    }
}
