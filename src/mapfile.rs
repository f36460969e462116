//! Map files (shard maps, routing maps): read as UTF-8 with a leading byte-order mark dropped,
//! parsed as JSON when they start with `{`, else TOML, and every parser message that quotes the
//! file passed through the secret scrubber (a map may hold a URL with a password).

/// Errors reading a map file.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    /// The file could not be read.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The file is not a valid map (syntax or shape), with the position where known.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A key could not be read as the map's key type.
    #[error("{0}")]
    Key(String),
}

/// Reads a TOML or JSON map (JSON when the text starts with `{`), errors naming the file and
/// the position.
pub fn parse_file<T: serde::de::DeserializeOwned>(text: &str, path: &str) -> Result<T, MapError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // The parsers quote the offending line: no password and no huge line gets through.
    let parse = |message: String| MapError::Parse {
        path: path.to_string(),
        message: crate::secret::safe_message(&message),
    };
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| parse(e.to_string()))
    } else {
        toml::from_str(text).map_err(|e| parse(e.to_string().trim_end().replace('\n', " ")))
    }
}

/// Reads a map file as UTF-8 text; returns the text and the path as shown in errors.
pub fn read_file(path: &std::path::Path) -> Result<(String, String), MapError> {
    let p = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| MapError::Read {
        path: p.clone(),
        message: e.to_string(),
    })?;
    let text = crate::sql::span::check_utf8(&bytes).map_err(|e| MapError::Parse {
        path: p.clone(),
        message: e.to_string(),
    })?;
    Ok((text.to_string(), p))
}
