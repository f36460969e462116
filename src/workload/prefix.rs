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
    /// `%Q`: the query identifier.
    pub query_id: Option<&'a str>,
    /// `%e`: the SQLSTATE.
    pub sqlstate: Option<&'a str>,
    /// `%b`: the backend type.
    pub backend_type: Option<&'a str>,
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

/// The prefixes tried when none is given: postgresql.conf's default, the distributions' and
/// the managed services' defaults, and the ones log analyzers recommend.
pub const COMMON: &[&str] = &[
    // Debian and Ubuntu packages.
    "%m [%p] %q%u@%d ",
    // PostgreSQL's own default (also the official container image).
    "%m [%p] ",
    // Amazon RDS and Aurora (no space before the level).
    "%t:%r:%u@%d:[%p]:",
    "%t:%r:%u@%d:[%p]: ",
    // Google Cloud SQL.
    "%m [%p]: [%l-1] db=%d,user=%u ",
    // Azure Database for PostgreSQL flexible server.
    "%t-%c-",
    // pgBadger's recommendations (also Crunchy Data's operator).
    "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    "%m [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    "%t [%p]: user=%u,db=%d,app=%a,client=%h ",
    "%m [%p]: user=%u,db=%d,app=%a,client=%h ",
    "%t [%p]: [%l-1] user=%u,db=%d ",
    "%m [%p]: [%l-1] user=%u,db=%d ",
    "%t [%p]: [%l-1] ",
    "%m [%p]: [%l-1] ",
    // Patroni (Spilo images).
    "%t [%p]: [%l-1] %c %x %d %u %a %h ",
    "%m %u@%d [%p] ",
    "%t [%p] %q%u@%d ",
    "%t [%p] ",
    "%m [%p] %q%a %u@%d ",
    "%m [%p-%l] %q%u@%d ",
    "%m [%p] %q[user=%u,db=%d,app=%a] ",
    "%m [%p] %q%u@%d/%a ",
    "%n [%p] ",
    "%n [%p] %q%u@%d ",
    "%t ",
    "%m ",
    // Inside syslog and Heroku lines, after the envelope's time and pid (`wrapped::HEAD`).
    "%m [%p] user=%u,db=%d,app=%a,client=%h ",
    "%m [%p] %quser=%u,db=%d,app=%a,client=%h ",
    "%m [%p] user=%u,db=%d ",
    "%m [%p] [%l-1] user=%u,db=%d,app=%a,client=%h ",
    "%m [%p] sql_error_code = %e ",
    "%m [%p] sql_error_code = %e time_ms = \"%m\" pid=\"%p\" proc_start_time=\"%s\" session_id=\"%c\" vtid=\"%v\" tid=\"%x\" log_line=\"%l\" %qdatabase=\"%d\" connection_source=\"%r\" user=\"%u\" application_name=\"%a\" ",
];

/// The level named by `b`, as one of [`LEVELS`].
fn level_name(b: &[u8]) -> Option<&'static str> {
    Some(match b {
        b"LOG" => "LOG",
        b"ERROR" => "ERROR",
        b"STATEMENT" => "STATEMENT",
        b"DETAIL" => "DETAIL",
        b"HINT" => "HINT",
        b"CONTEXT" => "CONTEXT",
        b"FATAL" => "FATAL",
        b"WARNING" => "WARNING",
        b"NOTICE" => "NOTICE",
        b"INFO" => "INFO",
        b"PANIC" => "PANIC",
        b"QUERY" => "QUERY",
        b"LOCATION" => "LOCATION",
        b"DEBUG1" => "DEBUG1",
        b"DEBUG2" => "DEBUG2",
        b"DEBUG3" => "DEBUG3",
        b"DEBUG4" => "DEBUG4",
        b"DEBUG5" => "DEBUG5",
        b"DEBUG" => "DEBUG",
        _ => return None,
    })
}

/// Split `LEVEL:  message` (one space or two) after a prefix. Returns the level and the message.
pub fn split_level(rest: &[u8]) -> Option<(&'static str, &[u8])> {
    if !rest.first().is_some_and(u8::is_ascii_uppercase) {
        return None;
    }
    let colon = rest.iter().take(10).position(|&b| b == b':')?;
    let level = level_name(&rest[..colon])?;
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
    /// starts. A match is only accepted when a known level follows. Where a field could end in
    /// more than one place (a zone after the timestamp or none, a user name holding the next
    /// literal), the other endings are tried before giving up.
    pub fn match_line<'a>(&self, line: &'a [u8]) -> Option<(Fields<'a>, usize)> {
        let mut f = Fields::default();
        if let Some(end) = self.match_from(line, 0, 0, &mut f, false) {
            return Some((f, end));
        }
        // A process without a session (checkpointer, autovacuum) ends its prefix at `%q`.
        if !self.parts.contains(&Part::Stop) {
            return None;
        }
        let mut f = Fields::default();
        self.match_from(line, 0, 0, &mut f, true)
            .map(|end| (f, end))
    }

    /// Match parts `k..` at `pos`; `Some(end)` only when a level follows at `end`. With
    /// `at_stop`, the prefix ends at `%q`.
    fn match_from<'a>(
        &self,
        line: &'a [u8],
        mut pos: usize,
        mut k: usize,
        f: &mut Fields<'a>,
        at_stop: bool,
    ) -> Option<usize> {
        let parts = &self.parts;
        while k < parts.len() {
            match &parts[k] {
                Part::Lit(l) => {
                    if !line[pos..].starts_with(l) {
                        return None;
                    }
                    pos += l.len();
                }
                Part::Stop if at_stop => break,
                Part::Stop => {}
                Part::Field(c) => {
                    let rest = &line[pos..];
                    let used = match c {
                        b'm' | b't' | b's' => {
                            let (ts, used) = parse_timestamp(rest)?;
                            if *c != b's' {
                                f.ts_ms = Some(ts);
                            }
                            // A zone follows (" UTC", " CEST", " +03", " -0530") unless the
                            // server's zone has no name; it ends at the first other character.
                            // Known zones put the time in UTC.
                            if let Some(z) = zone_len(&rest[used..]) {
                                let mut g = f.clone();
                                if *c != b's' {
                                    let off = super::zone_offset_min(&rest[used + 1..used + z]);
                                    g.ts_ms = Some(ts - off.unwrap_or(0) * 60_000);
                                }
                                if let Some(end) =
                                    self.match_from(line, pos + used + z, k + 1, &mut g, at_stop)
                                {
                                    *f = g;
                                    return Some(end);
                                }
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
                        b'p' | b'P' | b'l' | b'x' | b'Q' => {
                            let sign = usize::from(*c == b'Q' && rest.first() == Some(&b'-'));
                            let n = sign + digits(&rest[sign..]);
                            if n == sign {
                                return None;
                            }
                            let v = std::str::from_utf8(&rest[..n]).ok();
                            match c {
                                b'p' => f.pid = v,
                                b'Q' => f.query_id = v,
                                _ => {}
                            }
                            n
                        }
                        b'v' => {
                            // Virtual transaction id: backend/local, e.g. 3/1204 (or empty).
                            let a = digits(rest);
                            if a > 0 && rest.get(a) == Some(&b'/') {
                                a + 1 + digits(&rest[a + 1..])
                            } else {
                                0
                            }
                        }
                        b'e' => {
                            let n = rest
                                .iter()
                                .take(5)
                                .filter(|b| b.is_ascii_alphanumeric())
                                .count();
                            if n != 5 {
                                return None;
                            }
                            f.sqlstate = std::str::from_utf8(&rest[..5]).ok();
                            5
                        }
                        _ => {
                            // Free text up to the next literal (or a space when last). When the
                            // literal also occurs inside the value, later endings are tried.
                            let next = match parts.get(k + 1) {
                                Some(Part::Lit(next)) => Some(next.as_slice()),
                                _ => None,
                            };
                            let Some(next) = next else {
                                let n = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
                                set_text(f, *c, &rest[..n])?;
                                pos += n;
                                k += 1;
                                continue;
                            };
                            let mut from = 0;
                            let mut tries = 0;
                            loop {
                                let n = from + find(&rest[from..], next)?;
                                tries += 1;
                                let mut g = f.clone();
                                set_text(&mut g, *c, &rest[..n])?;
                                if let Some(end) =
                                    self.match_from(line, pos + n, k + 1, &mut g, at_stop)
                                {
                                    *f = g;
                                    return Some(end);
                                }
                                if tries == 4 {
                                    return None;
                                }
                                from = n + 1;
                            }
                        }
                    };
                    pos += used;
                }
            }
            k += 1;
        }
        split_level(&line[pos..]).map(|_| pos)
    }

    /// Pick the prefix of [`COMMON`] that best explains `sample`'s entry lines: each line it
    /// matches with plausible fields scores 2, with implausible ones (a user name holding
    /// `=` or a space, which means the prefix cut the line in the wrong place) 1; ties go to
    /// the prefix that took more fields out of the lines, then to the one that matched more
    /// lines whole (not cut short at `%q`), then to the one listed first. At least half the
    /// entry lines must match.
    pub fn detect(sample: &[u8]) -> Result<Prefix, WorkloadError> {
        let lines: Vec<&[u8]> = sample
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .filter(|l| !l.is_empty() && !l.starts_with(b"\t") && !l.starts_with(b" "))
            .take(500)
            .collect();
        if lines.is_empty() {
            return Err(WorkloadError::UnknownFormat("the log is empty".to_string()));
        }
        let mut best: Option<((usize, usize, usize), usize, Prefix)> = None;
        for text in COMMON {
            let p = Prefix::parse(text)?;
            let (mut score, mut hits, mut taken, mut whole) = (0, 0, 0, 0);
            for l in &lines {
                if let Some((f, _)) = p.match_line(l) {
                    hits += 1;
                    score += if f.plausible() { 2 } else { 1 };
                    taken += f.count();
                    let mut g = Fields::default();
                    whole += usize::from(p.match_from(l, 0, 0, &mut g, false).is_some());
                }
            }
            let key = (score, taken, whole);
            if hits > 0 && best.as_ref().is_none_or(|(k, _, _)| key > *k) {
                best = Some((key, hits, p));
            }
        }
        match best {
            Some((_, hits, p)) if hits * 2 >= lines.len() => Ok(p),
            _ => Err(WorkloadError::UnknownFormat(format!(
                "no known log_line_prefix explains this log (first line: {}); pass --prefix with log_line_prefix as set on the server, or --log-format csvlog|jsonlog|syslog|cloud|trace",
                crate::view::printable_cut(lines[0], 200)
            ))),
        }
    }
}

impl Fields<'_> {
    /// Whether the names look like names: a user or database holding `=`, `,`, `:` or a
    /// space, or a bracket other than PostgreSQL's own `[unknown]`, is a sign the prefix was
    /// matched in the wrong place.
    pub fn plausible(&self) -> bool {
        let odd = |v: Option<&str>| {
            v.is_some_and(|v| {
                v != "[unknown]"
                    && v.bytes()
                        .any(|b| matches!(b, b'[' | b']' | b'=' | b',' | b' ' | b':'))
            })
        };
        // A host may hold `:` (IPv6) and `[`…`]` (`%r` of an IPv6 client).
        let odd_host =
            |v: Option<&str>| v.is_some_and(|v| v.bytes().any(|b| matches!(b, b'=' | b',' | b' ')));
        !(odd(self.user) || odd(self.database) || odd_host(self.host))
    }

    /// How many fields the prefix took out of the line.
    pub fn count(&self) -> usize {
        [
            self.pid,
            self.session_id,
            self.user,
            self.database,
            self.application,
            self.host,
            self.query_id,
            self.sqlstate,
            self.backend_type,
        ]
        .iter()
        .filter(|v| v.is_some())
        .count()
            + usize::from(self.ts_ms.is_some())
    }
}

/// Length of the run of ASCII digits at the start of `s`.
fn digits(s: &[u8]) -> usize {
    s.iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len())
}

/// Length of a time zone after a timestamp, with its leading space: ` UTC`, ` CEST`, ` +03`,
/// ` -0530`, ` +05:30`. `None` when no zone follows.
fn zone_len(s: &[u8]) -> Option<usize> {
    let z = s.strip_prefix(b" ")?;
    let n = match z.first()? {
        b'+' | b'-' => {
            let d = digits(&z[1..]);
            if d == 0 {
                return None;
            }
            let mut n = 1 + d;
            if z.get(n) == Some(&b':') && digits(&z[n + 1..]) == 2 {
                n += 3;
            }
            n
        }
        c if c.is_ascii_alphabetic() => z
            .iter()
            .position(|b| !b.is_ascii_alphanumeric())
            .unwrap_or(z.len()),
        _ => return None,
    };
    Some(1 + n)
}

/// Store a free-text field's value (`None` when it is not UTF-8).
fn set_text<'a>(f: &mut Fields<'a>, c: u8, v: &'a [u8]) -> Option<()> {
    let v = std::str::from_utf8(v).ok()?;
    // An empty value (a background process, RDS's `::@:`) is no value.
    let v = (!v.is_empty()).then_some(v);
    match c {
        b'u' => f.user = v,
        b'd' => f.database = v,
        b'a' => f.application = v,
        b'c' => f.session_id = v,
        b'h' | b'r' => f.host = v,
        b'b' => f.backend_type = v,
        _ => {}
    }
    Some(())
}

/// Where `needle` first occurs in `hay`.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    match needle {
        [] => Some(0),
        [b] => memchr::memchr(*b, hay),
        _ => memchr::memmem::find(hay, needle),
    }
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
    fn zones_end_where_the_zone_ends() {
        let rds = Prefix::parse("%t:%r:%u@%d:[%p]:").unwrap();
        let (f, end) = rds
            .match_line(b"2024-01-01 10:00:00 UTC::@:[12760]:LOG:  checkpoint starting: time")
            .unwrap();
        assert_eq!((f.pid, f.user, f.host), (Some("12760"), None, None));
        assert_eq!(end, 35);
        let (f, _) = rds
            .match_line(b"2024-01-01 10:00:00 UTC:10.0.0.9(51234):app@shop:[77]:ERROR:  boom")
            .unwrap();
        assert_eq!(
            (f.host, f.user, f.database),
            (Some("10.0.0.9(51234)"), Some("app"), Some("shop"))
        );
        let p = Prefix::parse("%m [%p] ").unwrap();
        for zone in ["UTC", "CET", "CEST", "EST", "+03", "-0530", "+05:30"] {
            let line = format!("2024-01-01 10:00:00.123 {zone} [5] LOG:  x");
            let (f, _) = p
                .match_line(line.as_bytes())
                .unwrap_or_else(|| panic!("{zone}"));
            assert_eq!(f.pid, Some("5"), "{zone}");
        }
        // No zone at all (log_timezone without a name).
        assert!(p
            .match_line(b"2024-01-01 10:00:00.123 [5] LOG:  x")
            .is_some());
        // A zone-less %t followed by a user name: the name is not taken for a zone.
        let t = Prefix::parse("%t %u@%d ").unwrap();
        let (f, _) = t
            .match_line(b"2024-01-01 10:00:00 app@shop LOG:  x")
            .unwrap();
        assert_eq!(f.user, Some("app"));
    }

    #[test]
    fn every_escape_anywhere() {
        let p = Prefix::parse("%m|%p|%Q|%h|%r|%a|%c|%l|%v|%x|%b|%e|%u@%d: ").unwrap();
        let line = b"2026-12-02 20:35:18.001 -0530|13989|-6066727267654226913|127.0.0.1|127.0.0.1(33872)|my app|6b10ce5d.36a5|3|3/0|0|client backend|22012|postgres@shop: ERROR:  division by zero";
        let (f, _) = p.match_line(line).unwrap();
        assert_eq!(f.query_id, Some("-6066727267654226913"));
        assert_eq!(f.application, Some("my app"));
        assert_eq!(f.session_id, Some("6b10ce5d.36a5"));
        assert_eq!(f.backend_type, Some("client backend"));
        assert_eq!(f.sqlstate, Some("22012"));
        assert_eq!((f.user, f.database), (Some("postgres"), Some("shop")));
        // A user name holding the next literal: the later ending is tried.
        let p = Prefix::parse("%m [%p] %u@%d ").unwrap();
        let (f, _) = p
            .match_line(b"2024-01-01 10:00:00.123 UTC [5] me@corp@shop LOG:  x")
            .unwrap();
        assert_eq!((f.user, f.database), (Some("me"), Some("corp@shop")));
    }

    #[test]
    fn one_space_or_two_after_the_level() {
        let p = Prefix::parse("%m [%p] ").unwrap();
        for line in [
            &b"2024-01-01 10:00:00.123 UTC [5] LOG: duration: 1 ms statement: SELECT 1"[..],
            b"2024-01-01 10:00:00.123 UTC [5] LOG:  duration: 1 ms  statement: SELECT 1",
        ] {
            let (_, end) = p.match_line(line).unwrap();
            let (level, msg) = split_level(&line[end..]).unwrap();
            assert_eq!((level, &msg[..9]), ("LOG", &b"duration:"[..]));
        }
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
