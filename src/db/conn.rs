//! Connection settings: `--url`, else `DATABASE_URL`, else the libpq environment; URIs
//! (`postgres://…`) and libpq keyword strings (`host=… dbname=…`) alike.
//!
//! The password is held in a [`Secret`] whose `Debug` and `Display` print `***`, and
//! [`ConnSpec`]'s `Display` never includes it, so neither can reach output, logs or errors.

use super::DbError;
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::ConnectOptions;
use std::fmt;
use std::str::FromStr;

/// A value that must never be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, for the one place that needs it (the connection).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where and how to connect. Unset fields fall back to libpq's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnSpec {
    /// Host name, IP address, or a unix socket directory (starting with `/`).
    pub host: Option<String>,
    /// TCP port (also names the unix socket).
    pub port: Option<u16>,
    /// User name.
    pub user: Option<String>,
    /// Password.
    pub password: Option<Secret>,
    /// Database name.
    pub dbname: Option<String>,
    /// `disable`, `allow`, `prefer`, `require`, `verify-ca` or `verify-full`.
    pub sslmode: Option<String>,
    /// Root certificate file for `verify-ca`/`verify-full`.
    pub sslrootcert: Option<String>,
    /// Reported in `pg_stat_activity`.
    pub application_name: Option<String>,
    /// Server options (`-c statement_timeout=5s`).
    pub options: Option<String>,
    /// Seconds to wait for the connection.
    pub connect_timeout: Option<u64>,
}

impl ConnSpec {
    /// Resolve the connection: `url` (from `--url`), else `DATABASE_URL`, else the libpq
    /// environment alone. The libpq environment fills what the URL leaves out, as libpq does.
    pub fn resolve(url: Option<&str>) -> Result<ConnSpec, DbError> {
        Self::resolve_with(url, |k| std::env::var(k).ok())
    }

    /// The connection of a server named in a map: the URL in its `url_env` variable, else its
    /// `url`, the libpq environment filling the rest (a password from `PGPASSWORD` or
    /// `.pgpass`). The error names what is missing and never holds the URL.
    pub fn for_server(url: Option<&str>, url_env: Option<&str>) -> Result<ConnSpec, DbError> {
        let bad = |reason: String| DbError::BadUrl { reason };
        let url = match (url, url_env) {
            (_, Some(var)) => std::env::var(var)
                .map_err(|_| bad(format!("environment variable {var} is not set")))?,
            (Some(u), None) => u.to_string(),
            (None, None) => return Err(bad("no url or url_env".into())),
        };
        ConnSpec::resolve(Some(&url))
    }

    /// [`ConnSpec::resolve`] with an explicit environment (for tests).
    pub fn resolve_with(
        url: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ConnSpec, DbError> {
        let mut spec = ConnSpec::from_env(&env)?;
        let given = url
            .map(str::to_string)
            .or_else(|| env("DATABASE_URL").filter(|s| !s.trim().is_empty()));
        if let Some(u) = given {
            let parsed: ConnSpec = u.parse()?;
            spec.overlay(parsed);
        }
        Ok(spec)
    }

    /// The libpq environment variables.
    pub fn from_env(env: &impl Fn(&str) -> Option<String>) -> Result<ConnSpec, DbError> {
        let mut spec = ConnSpec::default();
        let get = |k: &str| env(k).filter(|v| !v.is_empty());
        spec.host = get("PGHOST");
        if let Some(p) = get("PGPORT") {
            spec.port = Some(parse_port(&p)?);
        }
        spec.user = get("PGUSER");
        spec.password = get("PGPASSWORD").map(Secret::new);
        spec.dbname = get("PGDATABASE");
        spec.sslmode = get("PGSSLMODE");
        spec.sslrootcert = get("PGSSLROOTCERT");
        spec.application_name = get("PGAPPNAME");
        spec.options = get("PGOPTIONS");
        if let Some(t) = get("PGCONNECT_TIMEOUT") {
            spec.connect_timeout = t.parse().ok();
        }
        Ok(spec)
    }

    fn overlay(&mut self, o: ConnSpec) {
        macro_rules! take {
            ($($f:ident),*) => { $( if o.$f.is_some() { self.$f = o.$f; } )* };
        }
        take!(
            host,
            port,
            user,
            password,
            dbname,
            sslmode,
            sslrootcert,
            application_name,
            options,
            connect_timeout
        );
    }

    fn set(&mut self, key: &str, value: String) -> Result<(), DbError> {
        match key {
            "host" | "hostaddr" => self.host = Some(value),
            "port" => self.port = Some(parse_port(&value)?),
            "user" => self.user = Some(value),
            "password" => self.password = Some(Secret::new(value)),
            "dbname" => self.dbname = Some(value),
            "sslmode" => self.sslmode = Some(value),
            "sslrootcert" => self.sslrootcert = Some(value),
            "application_name" => self.application_name = Some(value),
            "options" => self.options = Some(value),
            "connect_timeout" => {
                self.connect_timeout = Some(value.parse().map_err(|_| DbError::BadUrl {
                    reason: "connect_timeout must be a number of seconds".to_string(),
                })?)
            }
            // Settings libpq knows that do not change where we connect.
            "sslcert"
            | "sslkey"
            | "sslpassword"
            | "target_session_attrs"
            | "keepalives"
            | "keepalives_idle"
            | "gssencmode"
            | "channel_binding"
            | "client_encoding"
            | "fallback_application_name" => {}
            other => {
                // A parameter name is echoed only when it looks like one: a mistyped URL can
                // put part of a password here.
                let looks_like_a_name =
                    other.len() <= 40 && other.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
                return Err(DbError::BadUrl {
                    reason: if looks_like_a_name {
                        format!("unknown connection parameter '{other}'")
                    } else {
                        "an unknown connection parameter (not shown, as it may be part of a password: percent-encode '?', '&' and '=' in a password)".to_string()
                    },
                });
            }
        }
        Ok(())
    }

    /// The host and port this resolves to, as `host:port` (for messages).
    pub fn endpoint(&self) -> String {
        let host = self.host.as_deref().unwrap_or("localhost");
        let port = self.port.unwrap_or(5432);
        if host.starts_with('/') {
            format!("socket {host}/.s.PGSQL.{port}")
        } else if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        }
    }

    /// sqlx connection options.
    pub fn to_options(&self) -> Result<PgConnectOptions, DbError> {
        let mut o = PgConnectOptions::new_without_pgpass();
        if let Some(h) = &self.host {
            o = if h.starts_with('/') {
                o.socket(h)
            } else {
                o.host(h)
            };
        }
        if let Some(p) = self.port {
            o = o.port(p);
        }
        if let Some(u) = &self.user {
            o = o.username(u);
        } else if let Some(u) = std::env::var("USER").ok().filter(|u| !u.is_empty()) {
            o = o.username(&u);
        }
        if let Some(pw) = &self.password {
            o = o.password(pw.expose());
        }
        if let Some(d) = &self.dbname {
            o = o.database(d);
        }
        if let Some(m) = &self.sslmode {
            let mode = PgSslMode::from_str(m).map_err(|_| DbError::BadUrl {
                reason: format!(
                    "sslmode '{m}' is not one of disable, allow, prefer, require, verify-ca, verify-full"
                ),
            })?;
            o = o.ssl_mode(mode);
        }
        if let Some(c) = &self.sslrootcert {
            o = o.ssl_root_cert(c.as_str());
        }
        o = o.application_name(self.application_name.as_deref().unwrap_or("dbkit"));
        if let Some(opts) = &self.options {
            o = o.options(parse_options(opts));
        }
        Ok(o.disable_statement_logging())
    }

    /// Remove the password from `message`, wherever it appears (belt and braces for errors that
    /// echo their input).
    pub fn scrub(&self, message: &str) -> String {
        match &self.password {
            Some(pw) if !pw.expose().is_empty() => message.replace(pw.expose(), "***"),
            _ => message.to_string(),
        }
    }
}

/// A URI without the password: `postgres://user@host:port/db?sslmode=…`.
impl fmt::Display for ConnSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "postgres://")?;
        if let Some(u) = &self.user {
            write!(f, "{}@", pct_encode(u))?;
        }
        match &self.host {
            Some(h) if !h.starts_with('/') => {
                if h.contains(':') {
                    write!(f, "[{h}]")?;
                } else {
                    write!(f, "{h}")?;
                }
            }
            _ => {}
        }
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "/")?;
        if let Some(d) = &self.dbname {
            write!(f, "{}", pct_encode(d))?;
        }
        let mut q = Vec::new();
        if let Some(h) = self.host.as_deref().filter(|h| h.starts_with('/')) {
            q.push(format!("host={}", pct_encode(h)));
        }
        if let Some(m) = &self.sslmode {
            q.push(format!("sslmode={m}"));
        }
        if !q.is_empty() {
            write!(f, "?{}", q.join("&"))?;
        }
        Ok(())
    }
}

impl FromStr for ConnSpec {
    type Err = DbError;

    /// Parse a URI (`postgres://` or `postgresql://`) or a libpq keyword string.
    fn from_str(s: &str) -> Result<ConnSpec, DbError> {
        let t = s.trim();
        if let Some(rest) = t
            .strip_prefix("postgres://")
            .or_else(|| t.strip_prefix("postgresql://"))
        {
            parse_uri(rest)
        } else if t.contains('=') {
            parse_keywords(t)
        } else if t.contains("://") {
            let scheme = t.split("://").next().unwrap_or("");
            Err(DbError::BadUrl {
                reason: format!("scheme '{scheme}' is not postgres:// or postgresql://"),
            })
        } else {
            Err(DbError::BadUrl {
                reason: "expected a postgres:// URI or libpq keywords such as 'host=… dbname=…'"
                    .to_string(),
            })
        }
    }
}

fn parse_port(p: &str) -> Result<u16, DbError> {
    // The text is not echoed: in a URL whose password holds '/', '?' or '#', what is read as
    // the port is part of the password.
    p.parse::<u16>().map_err(|_| DbError::BadUrl {
        reason: "the port is not a number from 1 to 65535 (a password containing '/', '?', '#' or '@' must be percent-encoded: %2F, %3F, %23, %40)".to_string(),
    })
}

fn parse_options(opts: &str) -> Vec<(String, String)> {
    // `-c a=b -c c=d` or `--a=b`.
    let mut out = Vec::new();
    let mut words = opts.split_whitespace().peekable();
    while let Some(w) = words.next() {
        let kv = if w == "-c" {
            words.next().unwrap_or("")
        } else if let Some(x) = w.strip_prefix("-c") {
            x
        } else if let Some(x) = w.strip_prefix("--") {
            x
        } else {
            w
        };
        if let Some((k, v)) = kv.split_once('=') {
            out.push((k.replace('-', "_"), v.to_string()));
        }
    }
    out
}

fn pct_decode(s: &str) -> Result<String, DbError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(v) => {
                    out.push(v);
                    i += 3;
                }
                None => {
                    return Err(DbError::BadUrl {
                        reason: "bad percent-encoding in the URI".to_string(),
                    })
                }
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| DbError::BadUrl {
        reason: "percent-decoded URI part is not UTF-8".to_string(),
    })
}

fn pct_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn parse_uri(rest: &str) -> Result<ConnSpec, DbError> {
    let mut spec = ConnSpec::default();
    let (main, query) = match rest.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match main.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (main, None),
    };
    // The password may contain '@'; the host part is after the last one.
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    if let Some(ui) = userinfo {
        let (u, p) = match ui.split_once(':') {
            Some((u, p)) => (u, Some(p)),
            None => (ui, None),
        };
        if !u.is_empty() {
            spec.user = Some(pct_decode(u)?);
        }
        if let Some(p) = p {
            spec.password = Some(Secret::new(pct_decode(p)?));
        }
    }
    // Several hosts (`h1:5432,h2:5433`): the first is used.
    let first = hostport.split(',').next().unwrap_or("");
    if let Some(stripped) = first.strip_prefix('[') {
        let end = stripped.find(']').ok_or_else(|| DbError::BadUrl {
            reason: "unclosed '[' in the host".to_string(),
        })?;
        spec.host = Some(stripped[..end].to_string());
        if let Some(port) = stripped[end + 1..].strip_prefix(':') {
            spec.port = Some(parse_port(port)?);
        }
    } else if !first.is_empty() {
        let (h, p) = match first.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (first, None),
        };
        if !h.is_empty() {
            spec.host = Some(pct_decode(h)?);
        }
        if let Some(p) = p.filter(|p| !p.is_empty()) {
            spec.port = Some(parse_port(p)?);
        }
    }
    if let Some(p) = path.filter(|p| !p.is_empty()) {
        spec.dbname = Some(pct_decode(p)?);
    }
    if let Some(q) = query {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            spec.set(&pct_decode(k)?, pct_decode(v)?)?;
        }
    }
    Ok(spec)
}

fn parse_keywords(s: &str) -> Result<ConnSpec, DbError> {
    let mut spec = ConnSpec::default();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let ks = i;
        while i < chars.len() && chars[i] != '=' && !chars[i].is_whitespace() {
            i += 1;
        }
        let key: String = chars[ks..i].iter().collect();
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() || chars[i] != '=' {
            return Err(DbError::BadUrl {
                reason: format!(
                    "missing '=' after the word at character {} of the connection string (a value with spaces must be quoted: password='a b')",
                    ks + 1
                ),
            });
        }
        i += 1;
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < chars.len() && chars[i] == '\'' {
            i += 1;
            let mut closed = false;
            while i < chars.len() {
                match chars[i] {
                    '\\' if i + 1 < chars.len() => {
                        value.push(chars[i + 1]);
                        i += 2;
                    }
                    '\'' => {
                        closed = true;
                        i += 1;
                        break;
                    }
                    c => {
                        value.push(c);
                        i += 1;
                    }
                }
            }
            if !closed {
                return Err(DbError::BadUrl {
                    reason: if key == "password" {
                        "unterminated quoted value for the password".to_string()
                    } else {
                        format!(
                            "unterminated quoted value for '{}'",
                            crate::secret::excerpt(&key, 40)
                        )
                    },
                });
            }
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                value.push(chars[i]);
                i += 1;
            }
        }
        spec.set(&key, value)?;
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_parse() {
        let s: ConnSpec = "postgresql://app%40x:p%40ss@db.example.com:6432/shop?sslmode=require&application_name=ci"
            .parse()
            .unwrap();
        assert_eq!(s.user.as_deref(), Some("app@x"));
        assert_eq!(s.password.as_ref().map(Secret::expose), Some("p@ss"));
        assert_eq!(s.host.as_deref(), Some("db.example.com"));
        assert_eq!(s.port, Some(6432));
        assert_eq!(s.dbname.as_deref(), Some("shop"));
        assert_eq!(s.sslmode.as_deref(), Some("require"));
        assert_eq!(
            s.to_string(),
            "postgres://app%40x@db.example.com:6432/shop?sslmode=require"
        );
        let v6: ConnSpec = "postgres://[::1]:5433/x".parse().unwrap();
        assert_eq!((v6.host.as_deref(), v6.port), (Some("::1"), Some(5433)));
        let sock: ConnSpec = "postgres:///db?host=%2Ftmp%2Fs".parse().unwrap();
        assert_eq!(sock.host.as_deref(), Some("/tmp/s"));
        assert_eq!(sock.endpoint(), "socket /tmp/s/.s.PGSQL.5432");
    }

    #[test]
    fn keyword_strings_parse() {
        let s: ConnSpec =
            "host=localhost port=5433 dbname='my db' user=bob password='it\\'s secret'"
                .parse()
                .unwrap();
        assert_eq!(s.dbname.as_deref(), Some("my db"));
        assert_eq!(s.password.as_ref().map(Secret::expose), Some("it's secret"));
        assert_eq!(s.port, Some(5433));
        assert!("host=x port=abc".parse::<ConnSpec>().is_err());
        assert!("host=x bogus=1".parse::<ConnSpec>().is_err());
        assert!("password='open".parse::<ConnSpec>().is_err());
    }

    #[test]
    fn precedence_url_then_database_url_then_libpq_env() {
        let env = |k: &str| match k {
            "DATABASE_URL" => Some("postgres://envuser@envhost/envdb".to_string()),
            "PGHOST" => Some("pghost".to_string()),
            "PGPORT" => Some("7777".to_string()),
            "PGPASSWORD" => Some("hunter2".to_string()),
            _ => None,
        };
        let s = ConnSpec::resolve_with(Some("postgres://u@h/d"), env).unwrap();
        assert_eq!(
            (s.host.as_deref(), s.dbname.as_deref()),
            (Some("h"), Some("d"))
        );
        assert_eq!(s.port, Some(7777), "libpq env fills gaps");
        let s = ConnSpec::resolve_with(None, env).unwrap();
        assert_eq!(s.host.as_deref(), Some("envhost"));
        let s = ConnSpec::resolve_with(None, |k| {
            if k == "PGHOST" {
                Some("only".into())
            } else {
                None
            }
        })
        .unwrap();
        assert_eq!(s.host.as_deref(), Some("only"));
    }

    #[test]
    fn passwords_never_print() {
        let s: ConnSpec = "postgres://u:hunter2@h/d".parse().unwrap();
        assert!(!s.to_string().contains("hunter2"));
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.scrub("failed: hunter2 rejected"), "failed: *** rejected");
        let err = "postgres://u:hunter2@h:notaport/d"
            .parse::<ConnSpec>()
            .unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        // Malformed URLs and keyword strings never echo any part of the password.
        for bad in [
            "postgres://u:pa/ss3cretPW@host/db",
            "postgres://u:s3c?retPW@host/db",
            "postgres://u:s3cretPW@host:x/db",
            "postgresql://u:s3c%ZZretPW@host/db",
            "host=h password=s3c retPW",
            "host=h password='s3cretPW",
            "host=h connect_timeout=s3cretPW",
        ] {
            let err = bad.parse::<ConnSpec>().unwrap_err().to_string();
            for part in ["s3c", "retPW", "ss3", "pa/"] {
                assert!(!err.contains(part), "{bad}: {err}");
            }
        }
    }
}
