//! `dbkit sql`: the SQL layer on a file (`-` is stdin): split, parse, fingerprint, classify.

use crate::sql::report::{ClassifyReport, FingerprintReport, ParseReport, SplitReport};

/// `dbkit sql split`: the statements with their exact spans.
pub fn split(file: &str) -> Result<SplitReport, crate::Error> {
    Ok(SplitReport::build(file, &crate::ops::read_text(file)?))
}

/// `dbkit sql parse`: each statement parsed, with the tables, columns and predicates it uses.
pub fn parse(file: &str) -> Result<ParseReport, crate::Error> {
    Ok(ParseReport::build(file, &crate::ops::read_text(file)?))
}

/// `dbkit sql fingerprint`: the normalized shape and stable id of each statement.
pub fn fingerprint(file: &str) -> Result<FingerprintReport, crate::Error> {
    Ok(FingerprintReport::build(
        file,
        &crate::ops::read_text(file)?,
    ))
}

/// `dbkit sql classify`: read, write, DDL or other, and whether it needs the primary.
pub fn classify(file: &str) -> Result<ClassifyReport, crate::Error> {
    Ok(ClassifyReport::build(file, &crate::ops::read_text(file)?))
}
