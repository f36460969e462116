//! A fast, allocation-free PostgreSQL lexer over `&str`.
//!
//! It knows exactly as much of PostgreSQL's lexical grammar as splitting, fingerprinting and
//! classification need: quoted identifiers, every string form (`'…'`, `E'…'`, `B'…'`, `X'…'`,
//! `U&'…'`, `N'…'`, dollar quotes), nested block comments, line comments, numbers, `$n`
//! parameters, operators and psql meta-commands. Tokens are byte spans into the input; an
//! unterminated quote or comment yields a token marked `terminated: false` that runs to the end of
//! the input, never a panic.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Spaces, tabs, newlines.
    Whitespace,
    /// `-- …` to the end of the line.
    LineComment,
    /// `/* … */`, possibly nested.
    BlockComment,
    /// An unquoted identifier or keyword.
    Word,
    /// `"…"` or `U&"…"`.
    QuotedIdent,
    /// `'…'`, `N'…'`, `U&'…'`.
    String,
    /// `E'…'` with backslash escapes.
    EscapeString,
    /// `B'…'` or `X'…'`.
    BitString,
    /// `$tag$ … $tag$`.
    DollarString,
    /// An integer or decimal number (without sign).
    Number,
    /// A positional parameter `$1`.
    Param,
    /// An operator such as `=`, `<>`, `->>`, `||`.
    Operator,
    /// `::`.
    Cast,
    /// `(`.
    LParen,
    /// `)`.
    RParen,
    /// `[`.
    LBracket,
    /// `]`.
    RBracket,
    /// `,`.
    Comma,
    /// `;`.
    Semicolon,
    /// `.`.
    Dot,
    /// `:` (array slices, psql variables).
    Colon,
    /// A psql meta-command: a backslash to the end of the line.
    MetaCommand,
    /// A byte that starts no token PostgreSQL knows.
    Unknown,
}

impl TokenKind {
    /// Whitespace and comments: tokens that carry no meaning for the statement.
    pub fn is_trivia(self) -> bool {
        matches!(
            self,
            TokenKind::Whitespace | TokenKind::LineComment | TokenKind::BlockComment
        )
    }

    /// Constant literals (strings of every kind and numbers).
    pub fn is_literal(self) -> bool {
        matches!(
            self,
            TokenKind::String
                | TokenKind::EscapeString
                | TokenKind::BitString
                | TokenKind::DollarString
                | TokenKind::Number
        )
    }

    /// A short, stable name for reports.
    pub fn name(self) -> &'static str {
        match self {
            TokenKind::Whitespace => "whitespace",
            TokenKind::LineComment => "line-comment",
            TokenKind::BlockComment => "block-comment",
            TokenKind::Word => "word",
            TokenKind::QuotedIdent => "quoted-identifier",
            TokenKind::String => "string",
            TokenKind::EscapeString => "escape-string",
            TokenKind::BitString => "bit-string",
            TokenKind::DollarString => "dollar-string",
            TokenKind::Number => "number",
            TokenKind::Param => "parameter",
            TokenKind::Operator => "operator",
            TokenKind::Cast => "cast",
            TokenKind::LParen => "(",
            TokenKind::RParen => ")",
            TokenKind::LBracket => "[",
            TokenKind::RBracket => "]",
            TokenKind::Comma => ",",
            TokenKind::Semicolon => ";",
            TokenKind::Dot => ".",
            TokenKind::Colon => ":",
            TokenKind::MetaCommand => "meta-command",
            TokenKind::Unknown => "unknown",
        }
    }
}

/// One token: its kind and its byte span in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// What the token is.
    pub kind: TokenKind,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// False for a quote or comment that reached the end of the input unclosed.
    pub terminated: bool,
}

impl Token {
    /// The token's text in `src` (the string it was lexed from).
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        &src[self.start..self.end]
    }
}

/// An iterator of tokens over a string.
#[derive(Debug, Clone)]
pub struct Lexer<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `src`.
    pub fn new(src: &'a str) -> Self {
        Lexer {
            bytes: src.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self, off: usize) -> u8 {
        *self.bytes.get(self.pos + off).unwrap_or(&0)
    }

    fn lex_quoted(&mut self, quote: u8, backslash_escapes: bool) -> bool {
        // self.pos is just after the opening quote.
        let b = self.bytes;
        let mut i = self.pos;
        while i < b.len() {
            let c = b[i];
            if backslash_escapes && c == b'\\' {
                i += 2;
                continue;
            }
            if c == quote {
                if b.get(i + 1) == Some(&quote) {
                    i += 2;
                    continue;
                }
                self.pos = i + 1;
                return true;
            }
            i += 1;
        }
        self.pos = b.len();
        false
    }

    fn lex_block_comment(&mut self) -> bool {
        // self.pos is just after "/*".
        let b = self.bytes;
        let mut depth = 1usize;
        let mut i = self.pos;
        while i < b.len() {
            if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    self.pos = i;
                    return true;
                }
            } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                depth += 1;
                i += 2;
            } else {
                i += 1;
            }
        }
        self.pos = b.len();
        false
    }

    /// At `$`: a dollar-quote opener `$tag$` returns the tag's end (index of the closing `$`).
    fn dollar_tag_end(&self) -> Option<usize> {
        let b = self.bytes;
        let mut i = self.pos + 1;
        if i < b.len() && b[i] == b'$' {
            return Some(i);
        }
        if i < b.len() && is_ident_start(b[i]) {
            i += 1;
            while i < b.len() && is_ident_cont_nodollar(b[i]) {
                i += 1;
            }
            if i < b.len() && b[i] == b'$' {
                return Some(i);
            }
        }
        None
    }

    fn lex_dollar_string(&mut self, tag_end: usize) -> bool {
        let tag = &self.bytes[self.pos..=tag_end];
        let body_start = tag_end + 1;
        match find_subslice(&self.bytes[body_start..], tag) {
            Some(off) => {
                self.pos = body_start + off + tag.len();
                true
            }
            None => {
                self.pos = self.bytes.len();
                false
            }
        }
    }

    fn lex_number(&mut self) {
        let b = self.bytes;
        let mut i = self.pos;
        // 0x / 0o / 0b literals (PostgreSQL 16+).
        if b[i] == b'0' && matches!(b.get(i + 1), Some(b'x' | b'X' | b'o' | b'O' | b'b' | b'B')) {
            let j = i + 2;
            if j < b.len() && b[j].is_ascii_alphanumeric() {
                i = j;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                self.pos = i;
                return;
            }
        }
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
        if i < b.len() && b[i] == b'.' && b.get(i + 1) != Some(&b'.') {
            i += 1;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
                i += 1;
            }
        }
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            let mut j = i + 1;
            if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
                j += 1;
            }
            if j < b.len() && b[j].is_ascii_digit() {
                i = j;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
        }
        self.pos = i;
    }

    fn lex_operator(&mut self) {
        let b = self.bytes;
        let mut i = self.pos;
        while i < b.len() && is_op_char(b[i]) {
            // A comment start ends the operator.
            if i > self.pos
                && ((b[i] == b'-' && b.get(i + 1) == Some(&b'-'))
                    || (b[i] == b'/' && b.get(i + 1) == Some(&b'*')))
            {
                break;
            }
            i += 1;
        }
        // PostgreSQL: a multi-char operator cannot end in + or - unless it has one of ~ ! @ # % ^ & | ` ?
        let op = &b[self.pos..i];
        if op.len() > 1
            && matches!(op[op.len() - 1], b'+' | b'-')
            && !op.iter().any(|c| b"~!@#%^&|`?".contains(c))
        {
            let mut end = i;
            while end > self.pos + 1 && matches!(b[end - 1], b'+' | b'-') {
                end -= 1;
            }
            i = end;
        }
        self.pos = i.max(self.pos + 1);
    }
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let b = self.bytes;
        if self.pos >= b.len() {
            return None;
        }
        let start = self.pos;
        let c = b[start];
        let mut terminated = true;
        let kind = match c {
            // A byte-order mark at the very start is not text: whitespace, like editors show it.
            0xEF if start == 0 && b.starts_with(crate::sql::span::BOM) => {
                self.pos = 3;
                TokenKind::Whitespace
            }
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'\x0b' => {
                let mut i = start;
                while i < b.len()
                    && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'\x0b')
                {
                    i += 1;
                }
                self.pos = i;
                TokenKind::Whitespace
            }
            b'-' if self.peek(1) == b'-' => {
                let end = memchr_nl(b, start);
                self.pos = end;
                TokenKind::LineComment
            }
            b'/' if self.peek(1) == b'*' => {
                self.pos = start + 2;
                terminated = self.lex_block_comment();
                TokenKind::BlockComment
            }
            b'\\' => {
                // psql meta-command: runs to the end of the line. psql treats a backslash anywhere
                // outside quotes as one; we do too.
                let end = memchr_nl(b, start);
                self.pos = end;
                TokenKind::MetaCommand
            }
            b'\'' => {
                self.pos = start + 1;
                terminated = self.lex_quoted(b'\'', false);
                TokenKind::String
            }
            b'"' => {
                self.pos = start + 1;
                terminated = self.lex_quoted(b'"', false);
                TokenKind::QuotedIdent
            }
            b'e' | b'E' if self.peek(1) == b'\'' => {
                self.pos = start + 2;
                terminated = self.lex_quoted(b'\'', true);
                TokenKind::EscapeString
            }
            b'b' | b'B' | b'x' | b'X' if self.peek(1) == b'\'' => {
                self.pos = start + 2;
                terminated = self.lex_quoted(b'\'', false);
                TokenKind::BitString
            }
            b'n' | b'N' if self.peek(1) == b'\'' => {
                self.pos = start + 2;
                terminated = self.lex_quoted(b'\'', false);
                TokenKind::String
            }
            b'u' | b'U' if self.peek(1) == b'&' && self.peek(2) == b'\'' => {
                self.pos = start + 3;
                terminated = self.lex_quoted(b'\'', false);
                TokenKind::String
            }
            b'u' | b'U' if self.peek(1) == b'&' && self.peek(2) == b'"' => {
                self.pos = start + 3;
                terminated = self.lex_quoted(b'"', false);
                TokenKind::QuotedIdent
            }
            b'$' => {
                if self.peek(1).is_ascii_digit() {
                    let mut i = start + 1;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                    self.pos = i;
                    TokenKind::Param
                } else if let Some(tag_end) = self.dollar_tag_end() {
                    terminated = self.lex_dollar_string(tag_end);
                    TokenKind::DollarString
                } else {
                    self.pos = start + 1;
                    TokenKind::Unknown
                }
            }
            b'0'..=b'9' => {
                self.lex_number();
                TokenKind::Number
            }
            b'.' if self.peek(1).is_ascii_digit() => {
                self.lex_number();
                TokenKind::Number
            }
            b'(' => {
                self.pos = start + 1;
                TokenKind::LParen
            }
            b')' => {
                self.pos = start + 1;
                TokenKind::RParen
            }
            b'[' => {
                self.pos = start + 1;
                TokenKind::LBracket
            }
            b']' => {
                self.pos = start + 1;
                TokenKind::RBracket
            }
            b',' => {
                self.pos = start + 1;
                TokenKind::Comma
            }
            b';' => {
                self.pos = start + 1;
                TokenKind::Semicolon
            }
            b'.' => {
                self.pos = start + 1;
                TokenKind::Dot
            }
            b':' if self.peek(1) == b':' => {
                self.pos = start + 2;
                TokenKind::Cast
            }
            b':' if self.peek(1) == b'=' => {
                self.pos = start + 2;
                TokenKind::Operator
            }
            b':' => {
                self.pos = start + 1;
                TokenKind::Colon
            }
            c if is_ident_start(c) => {
                let mut i = start + 1;
                while i < b.len() && is_ident_cont(b[i]) {
                    i += 1;
                }
                self.pos = i;
                TokenKind::Word
            }
            c if is_op_char(c) => {
                self.lex_operator();
                TokenKind::Operator
            }
            _ => {
                // Step over one whole UTF-8 character so spans stay on char boundaries.
                let mut i = start + 1;
                while i < b.len() && (b[i] & 0xC0) == 0x80 {
                    i += 1;
                }
                self.pos = i;
                TokenKind::Unknown
            }
        };
        Some(Token {
            kind,
            start,
            end: self.pos,
            terminated,
        })
    }
}

/// First byte of an unquoted identifier: a letter, `_`, or any non-ASCII byte.
#[inline]
pub fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

/// Later bytes of an unquoted identifier: also digits and `$`.
#[inline]
pub fn is_ident_cont(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit() || c == b'$'
}

#[inline]
fn is_ident_cont_nodollar(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit()
}

#[inline]
fn is_op_char(c: u8) -> bool {
    matches!(
        c,
        b'+' | b'-'
            | b'*'
            | b'/'
            | b'<'
            | b'>'
            | b'='
            | b'~'
            | b'!'
            | b'@'
            | b'#'
            | b'%'
            | b'^'
            | b'&'
            | b'|'
            | b'`'
            | b'?'
    )
}

fn memchr_nl(b: &[u8], from: usize) -> usize {
    b[from..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| from + p)
}

fn find_subslice(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        match hay[i..=hay.len() - needle.len()]
            .iter()
            .position(|&c| c == first)
        {
            Some(p) => {
                i += p;
                if &hay[i..i + needle.len()] == needle {
                    return Some(i);
                }
                i += 1;
            }
            None => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<(TokenKind, &str)> {
        Lexer::new(s)
            .filter(|t| t.kind != TokenKind::Whitespace)
            .map(|t| (t.kind, t.text(s)))
            .collect()
    }

    #[test]
    fn strings_of_every_kind() {
        let k = kinds("'it''s' E'a\\'b' B'101' X'ff' N'n' U&'d\\0061' $$x;y$$ $fn$ $$ $fn$");
        assert_eq!(
            k,
            vec![
                (TokenKind::String, "'it''s'"),
                (TokenKind::EscapeString, "E'a\\'b'"),
                (TokenKind::BitString, "B'101'"),
                (TokenKind::BitString, "X'ff'"),
                (TokenKind::String, "N'n'"),
                (TokenKind::String, "U&'d\\0061'"),
                (TokenKind::DollarString, "$$x;y$$"),
                (TokenKind::DollarString, "$fn$ $$ $fn$"),
            ]
        );
    }

    #[test]
    fn nested_comments_and_params() {
        let k = kinds("/* a /* b */ c */ select $1 -- x\n, a$b");
        assert_eq!(k[0], (TokenKind::BlockComment, "/* a /* b */ c */"));
        assert_eq!(k[2], (TokenKind::Param, "$1"));
        assert_eq!(k[3], (TokenKind::LineComment, "-- x"));
        assert_eq!(k[5], (TokenKind::Word, "a$b"));
    }

    #[test]
    fn numbers_and_operators() {
        let k = kinds("1.5e-3 .5 42 0x1F a<>b x->>'k' c::int a=-1 1_000");
        let texts: Vec<&str> = k.iter().map(|t| t.1).collect();
        assert_eq!(
            texts,
            vec![
                "1.5e-3", ".5", "42", "0x1F", "a", "<>", "b", "x", "->>", "'k'", "c", "::", "int",
                "a", "=", "-", "1", "1_000"
            ]
        );
    }

    #[test]
    fn unterminated_tokens_reach_the_end() {
        for s in [
            "'abc",
            "E'abc\\'",
            "\"id",
            "$tag$ body",
            "/* open /* nested */",
        ] {
            let toks: Vec<Token> = Lexer::new(s).collect();
            let last = toks.last().unwrap();
            assert!(!last.terminated, "{s}");
            assert_eq!(last.end, s.len(), "{s}");
        }
    }

    #[test]
    fn meta_command_runs_to_end_of_line() {
        let k = kinds("\\set x 1\nselect 1");
        assert_eq!(k[0], (TokenKind::MetaCommand, "\\set x 1"));
        assert_eq!(k[1], (TokenKind::Word, "select"));
    }

    #[test]
    fn non_ascii_stays_on_char_boundaries() {
        let s = "select 'é', ü€ from t where a ≥ 1";
        for t in Lexer::new(s) {
            let _ = t.text(s); // would panic off a boundary
        }
    }
}
