//! Byte-level helpers for the line readers, which look at every line of a plan several times:
//! whitespace trimming with the same result as `str::trim*` (Unicode whitespace) but a byte loop
//! over the ASCII spaces and tabs that indent nearly every line (the character decoder of
//! `str::trim*` costs several times more per byte), and substring search by a memchr for the
//! first byte (on short lines, cheaper than setting up `str::find`'s two-way searcher).

/// The first position of `pat` in `hay`: a byte loop, with no set-up cost per call (one byte is
/// looked for by memchr: XML's `<` and `>` are tens of bytes apart).
pub(crate) fn find(hay: &str, pat: &str) -> Option<usize> {
    let (h, p) = (hay.as_bytes(), pat.as_bytes());
    let Some((&first, rest)) = p.split_first() else {
        return Some(0);
    };
    if rest.is_empty() {
        return memchr::memchr(first, h);
    }
    let last = h.len().checked_sub(p.len())?;
    (0..=last).find(|&i| h[i] == first && h[i + 1..i + p.len()] == *rest)
}

/// Trimming with an ASCII fast path; see the module documentation.
pub(crate) trait Trim {
    /// `str::trim_start`.
    fn ws_start(&self) -> &str;
    /// `str::trim_end`.
    fn ws_end(&self) -> &str;
    /// `str::trim`.
    fn ws(&self) -> &str {
        self.ws_start().ws_end()
    }
}

fn ascii_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

impl Trim for str {
    fn ws_start(&self) -> &str {
        // Indents are runs of spaces: eight at a time, then byte by byte.
        let b = self.as_bytes();
        let mut n = 0;
        while b.len() - n >= 8 && b[n..n + 8] == [b' '; 8] {
            n += 8;
        }
        n += b[n..].iter().take_while(|&&c| ascii_blank(c)).count();
        let rest = &self[n..];
        // Past the ASCII blanks: a non-ASCII character may still be whitespace (U+3000).
        if rest.as_bytes().first().is_some_and(|&b| b >= 0x80) {
            rest.trim_start()
        } else {
            rest
        }
    }

    fn ws_end(&self) -> &str {
        let n = self.bytes().rev().take_while(|&b| ascii_blank(b)).count();
        let rest = &self[..self.len() - n];
        if rest.as_bytes().last().is_some_and(|&b| b >= 0x80) {
            rest.trim_end()
        } else {
            rest
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{find, Trim};

    #[test]
    fn find_is_str_find() {
        for (hay, pat) in [
            ("Seq Scan on t  (cost=1..2)", "  ("),
            ("a: b: c", ": "),
            ("", ": "),
            ("é: x", ": "),
            ("::", ": "),
            ("x  (", "  ("),
            ("ab", "abc"),
            ("abc", "c"),
            ("abc", ""),
        ] {
            assert_eq!(find(hay, pat), hay.find(pat), "{hay:?} {pat:?}");
        }
    }

    #[test]
    fn same_as_the_standard_trims() {
        for s in [
            "",
            "   ",
            "  a b  ",
            "\t->  Seq Scan\r\n",
            "\u{3000} x \u{3000}",
            " \u{a0}é\u{2003}",
            "é",
            "\u{85}",
            " \u{3000}\t",
            "                    ->  Seq Scan",
            "                \u{3000}x",
            "        ",
        ] {
            assert_eq!(s.ws_start(), s.trim_start(), "{s:?}");
            assert_eq!(s.ws_end(), s.trim_end(), "{s:?}");
            assert_eq!(s.ws(), s.trim(), "{s:?}");
        }
    }
}
