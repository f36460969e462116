//! Keeping secrets out of messages: every error that quotes input (a map's TOML error shows the
//! offending line, a connection string echoed by a parser) goes through [`scrub`], and quoted
//! input is cut to a short [`excerpt`], so a 50 MB line never becomes a 50 MB error.
//!
//! [`scrub`] masks, wherever they appear in a text: the password of a URL
//! (`postgres://user:***@host`, whatever characters the password holds), `password=…` and
//! `PGPASSWORD=…` pairs (quoted or not, any case, `=` or `:` as in JSON and TOML), leaving the
//! rest readable.

/// The mask put in place of a secret.
pub const MASK: &str = "***";

/// Longest line of quoted input kept in a message, in characters.
pub const MAX_LINE: usize = 200;

/// Longest message, in characters.
pub const MAX_MESSAGE: usize = 2000;

fn ends_token(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '"' | '\'' | '`' | '<' | '>' | ',' | ';' | ')' | ']' | '}'
        )
}

/// Mask URL passwords in `text`; `cut`: the text was cut short, so a URL running to its end
/// may end inside its password.
fn scrub_urls(text: &str, cut: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail.find(ends_token).unwrap_or(tail.len());
        let token = &tail[..end];
        // A URL cut short by an excerpt may end inside its password: mask what follows `:`.
        let cut_short = cut && end == tail.len();
        match token.rfind('@') {
            None if cut_short && token.contains(':') => {
                let colon = token.find(':').unwrap_or(0);
                out.push_str(&token[..colon + 1]);
                out.push_str(MASK);
            }
            Some(at) => {
                let userinfo = &token[..at];
                match userinfo.find(':') {
                    Some(colon) => {
                        out.push_str(&userinfo[..colon + 1]);
                        out.push_str(MASK);
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(&token[at..]);
            }
            None => out.push_str(token),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Mask the values of `password`/`passwd`/`pgpassword` keys in `text`.
fn scrub_keys(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some(p) = lower[search..].find("passw") {
        let start = search + p;
        let klen = if lower[start..].starts_with("password") {
            8
        } else if lower[start..].starts_with("passwd") {
            6
        } else {
            search = start + 5;
            continue;
        };
        let mut i = start + klen;
        // A closing quote of a JSON or TOML key, then spaces, then `=` or `:`.
        if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
            i += 1;
        }
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        if i >= b.len() || (b[i] != b'=' && b[i] != b':') {
            search = start + klen;
            continue;
        }
        i += 1;
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        // The value: quoted (to the closing quote, backslash escapes honoured) or bare.
        let value_start = i;
        let value_end = if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
            let q = b[i];
            let mut j = i + 1;
            while j < b.len() && b[j] != q && b[j] != b'\n' {
                if b[j] == b'\\' {
                    j += 1;
                }
                j += 1;
            }
            (j + 1).min(b.len())
        } else {
            let mut j = i;
            while j < b.len()
                && !matches!(
                    b[j],
                    b' ' | b'\t'
                        | b'\n'
                        | b'\r'
                        | b'&'
                        | b','
                        | b';'
                        | b'}'
                        | b']'
                        | b')'
                        | b'"'
                        | b'\''
                )
            {
                j += 1;
            }
            j
        };
        if value_end > value_start {
            out.push_str(&text[copied..value_start]);
            out.push_str(MASK);
            copied = value_end;
        }
        search = value_end.max(start + klen);
        if search >= text.len() {
            break;
        }
        // Stay on a character boundary.
        while !text.is_char_boundary(search) {
            search += 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// `text` with every password it holds masked.
///
/// ```
/// use dbkit::secret::scrub;
/// assert_eq!(scrub("urll = \"postgres://u:s3cret/PW@db/x\""), "urll = \"postgres://u:***@db/x\"");
/// assert_eq!(scrub("host=db password='a b' user=u"), "host=db password=*** user=u");
/// ```
pub fn scrub(text: &str) -> String {
    scrub_keys(&scrub_urls(text, false))
}

/// `text` cut to `max` characters, saying how much was left out.
pub fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}… ({} more bytes)", &text[..cut], text.len() - cut),
    }
}

/// A message that quotes input, made safe to print: secrets masked, each line cut to
/// [`MAX_LINE`] characters and the whole to [`MAX_MESSAGE`].
pub fn safe_message(text: &str) -> String {
    safe_message_with(text, MAX_LINE)
}

/// [`safe_message`] with lines of up to `max_line` characters (an error line that already
/// holds cut excerpts needs more room than one line of quoted input).
pub fn safe_message_with(text: &str, max_line: usize) -> String {
    let lines: Vec<String> = text
        .lines()
        .take(MAX_MESSAGE / 10)
        .map(|l| match l.char_indices().nth(max_line * 4) {
            None => excerpt(&scrub(l), max_line),
            Some((cut, _)) => excerpt(&scrub_keys(&scrub_urls(&l[..cut], true)), max_line),
        })
        .collect();
    excerpt(&lines.join("\n"), MAX_MESSAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_masked_whatever_they_hold() {
        for (url, want) in [
            ("postgres://u:s3cretPW@h/db", "postgres://u:***@h/db"),
            (
                "postgres://u:pa/ss3cretPW@host/db",
                "postgres://u:***@host/db",
            ),
            (
                "postgres://u:s3c?retPW@host:5432/db",
                "postgres://u:***@host:5432/db",
            ),
            ("postgresql://u:p@ss@h", "postgresql://u:***@h"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("postgres://h:5432/db", "postgres://h:5432/db"),
        ] {
            assert_eq!(scrub(url), want, "{url}");
            assert_eq!(
                scrub(&format!("x = \"{url}\" y")),
                format!("x = \"{want}\" y")
            );
        }
    }

    #[test]
    fn password_keys_are_masked() {
        for (text, want) in [
            (
                "host=h password=s3cret dbname=d",
                "host=h password=*** dbname=d",
            ),
            ("PASSWORD = 's3 cret'", "PASSWORD = ***"),
            ("PGPASSWORD=s3cret psql", "PGPASSWORD=*** psql"),
            (
                "{\"password\": \"s3cret\", \"a\": 1}",
                "{\"password\": ***, \"a\": 1}",
            ),
            ("password = \"s3\\\"cret\"\nnext", "password = ***\nnext"),
            (
                "?sslmode=require&password=s3cret&x=1",
                "?sslmode=require&password=***&x=1",
            ),
            ("the password is wrong", "the password is wrong"),
            ("password", "password"),
            ("password=", "password="),
        ] {
            assert_eq!(scrub(text), want, "{text}");
        }
    }

    #[test]
    fn messages_are_cut() {
        let long = "x".repeat(50 << 20);
        let m = safe_message(&format!("line 1\n{long}"));
        assert!(m.len() < 1000, "{}", m.len());
        assert!(m.contains("more bytes"));
        // Cut short inside a URL's password: what follows the colon is masked.
        let m = safe_message(&format!(
            "{}postgres://u:s3cretPW{}@h",
            "y".repeat(780),
            "z".repeat(100)
        ));
        assert!(!m.contains("s3cret"), "{m}");
        assert_eq!(excerpt("é€x", 2), "é€… (1 more bytes)");
        // Hostile input does not panic.
        for t in [
            "password:",
            "passwd ='",
            "://",
            "://@:",
            "password=\"",
            "ü password=ü",
        ] {
            let _ = safe_message(t);
        }
    }
}
