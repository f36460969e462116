//! Source positions: byte spans and 1-based line/column positions.

use serde::Serialize;

/// A 1-based line and column (columns count characters, as editors and CI annotations do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// A region of a source text: byte offsets plus the line/column of both ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start_byte: usize,
    /// Byte offset one past the last byte.
    pub end_byte: usize,
    /// Position of the first character.
    pub start: Pos,
    /// Position of the last character (inclusive).
    pub end: Pos,
}

/// Maps byte offsets of one text to line/column positions.
#[derive(Debug, Clone)]
pub struct LineIndex<'a> {
    src: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Index the line starts of `src`.
    pub fn new(src: &'a str) -> Self {
        let mut line_starts = Vec::with_capacity(src.len() / 40 + 1);
        line_starts.push(0);
        line_starts.extend(
            src.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { src, line_starts }
    }

    /// The position of the character that starts at byte `offset` (clamped to the text).
    pub fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.src.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let ls = self.line_starts[line];
        let column = self.src.as_bytes()[ls..offset]
            .iter()
            .filter(|&&b| (b & 0xC0) != 0x80)
            .count()
            + 1;
        Pos {
            line: line + 1,
            column,
        }
    }

    /// The span of bytes `start..end` (`end` exclusive; an empty span ends where it starts).
    pub fn span(&self, start: usize, end: usize) -> Span {
        let last = if end > start {
            // Step back to the first byte of the last character.
            let b = self.src.as_bytes();
            let mut i = end - 1;
            while i > start && (b[i] & 0xC0) == 0x80 {
                i -= 1;
            }
            i
        } else {
            start
        };
        Span {
            start_byte: start,
            end_byte: end,
            start: self.pos(start),
            end: self.pos(last),
        }
    }
}

/// The UTF-8 byte-order mark some editors write at the start of a file.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `bytes` without a leading byte-order mark.
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(BOM).unwrap_or(bytes)
}

/// Check that `bytes` are UTF-8, or say where they stop being so; a leading byte-order mark is
/// dropped (it is not part of the text, and the first statement must not start with it).
pub fn check_utf8(bytes: &[u8]) -> Result<&str, crate::sql::SqlError> {
    let bytes = strip_bom(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let off = e.valid_up_to();
        let valid = std::str::from_utf8(&bytes[..off]).unwrap_or_default();
        let pos = LineIndex::new(valid).pos(off);
        crate::sql::SqlError::InvalidUtf8 {
            offset: off,
            line: pos.line,
            column: pos.column,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_order_mark_is_not_text() {
        assert_eq!(check_utf8(b"\xEF\xBB\xBFselect 1;").unwrap(), "select 1;");
        assert_eq!(check_utf8(b"\xEF\xBB\xBF").unwrap(), "");
        // Only a leading one: elsewhere it is a character like any other.
        assert_eq!(check_utf8(b"a\xEF\xBB\xBF").unwrap(), "a\u{feff}");
    }

    #[test]
    fn positions_count_characters() {
        let s = "ab\nçd\n\nx";
        let idx = LineIndex::new(s);
        assert_eq!(idx.pos(0), Pos { line: 1, column: 1 });
        assert_eq!(idx.pos(3), Pos { line: 2, column: 1 });
        // 'd' is after the 2-byte 'ç'
        assert_eq!(idx.pos(5), Pos { line: 2, column: 2 });
        assert_eq!(idx.pos(8), Pos { line: 4, column: 1 });
        let sp = idx.span(3, 6);
        assert_eq!(sp.end, Pos { line: 2, column: 2 });
    }

    #[test]
    fn invalid_utf8_is_located() {
        let err = check_utf8(b"select 1;\nselect '\xff';").unwrap_err();
        assert_eq!(
            err.to_string(),
            "input is not valid UTF-8 at line 2, column 9 (byte offset 18)"
        );
    }
}
