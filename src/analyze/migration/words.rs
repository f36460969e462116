//! Reading a statement's significant words (lowercased keywords, unquoted names and punctuation,
//! as [`super::Stmt`] holds them): word sequences, names, comma lists and parentheses. Shared by
//! the rules, the lock model and the schema replay.

/// The position of the first occurrence of `seq` in `w` (`None` for an empty `seq`).
pub fn find(w: &[String], seq: &[&str]) -> Option<usize> {
    if seq.is_empty() || w.len() < seq.len() {
        return None;
    }
    w.windows(seq.len())
        .position(|x| x.iter().zip(seq).all(|(a, b)| a == b))
}

/// Whether `seq` occurs in `w`.
pub fn has(w: &[String], seq: &[&str]) -> bool {
    find(w, seq).is_some()
}

/// Whether `w` starts with `seq`.
pub fn starts(w: &[String], seq: &[&str]) -> bool {
    w.len() >= seq.len() && w.iter().zip(seq).all(|(a, b)| a == b)
}

/// The (possibly qualified) name at `i`, skipping `IF [NOT] EXISTS`, `ONLY`, `CONCURRENTLY` and
/// `TABLE`, with the index just after it; `None` when punctuation stands there.
pub fn name_at(w: &[String], mut i: usize) -> Option<(String, usize)> {
    while matches!(
        w.get(i).map(String::as_str),
        Some("if" | "not" | "exists" | "only" | "concurrently" | "table")
    ) {
        i += 1;
    }
    let first = w.get(i)?;
    if first.is_empty() || matches!(first.as_str(), "(" | ")" | "," | ";" | "." | "*") {
        return None;
    }
    let mut name = first.clone();
    while w.get(i + 1).map(String::as_str) == Some(".") {
        name.push('.');
        name.push_str(w.get(i + 2)?);
        i += 2;
    }
    Some((name, i + 1))
}

/// The name at `i` ([`name_at`] without the index after it).
pub fn name(w: &[String], i: usize) -> Option<String> {
    name_at(w, i).map(|(n, _)| n)
}

/// `w` split at commas outside parentheses and brackets (empty parts dropped).
pub fn split_commas(w: &[String]) -> Vec<&[String]> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut from = 0;
    for (i, x) in w.iter().enumerate() {
        match x.as_str() {
            "(" | "[" => depth += 1,
            ")" | "]" => depth = depth.saturating_sub(1),
            "," if depth == 0 => {
                out.push(&w[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    out.push(&w[from..]);
    out.retain(|c| !c.is_empty());
    out
}

/// The words inside the parentheses that open at `open` (exclusive), and the index after the
/// closing one; nothing (and `open`) when no parenthesis opens there.
pub fn parens(w: &[String], open: usize) -> (&[String], usize) {
    if w.get(open).map(String::as_str) != Some("(") {
        return (&[], open.min(w.len()));
    }
    let mut depth = 0usize;
    for (i, x) in w.iter().enumerate().skip(open) {
        match x.as_str() {
            "(" => depth += 1,
            ")" => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return (&w[open + 1..i], i + 1);
                }
            }
            _ => {}
        }
    }
    (w.get(open + 1..).unwrap_or(&[]), w.len())
}

/// A comma-separated list of names from `i` (a trailing `*` and a column list after each name
/// skipped), up to a word in `stop`.
pub fn name_list(w: &[String], mut i: usize, stop: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    while let Some((t, next)) = name_at(w, i).filter(|(t, _)| !stop.contains(&t.as_str())) {
        out.push(t);
        i = next;
        if w.get(i).map(String::as_str) == Some("*") {
            i += 1;
        }
        i = parens(w, i).1;
        if w.get(i).map(String::as_str) != Some(",") {
            break;
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn sequences_names_and_lists() {
        let x = w("truncate only s . a * , b ( c , d ) , e cascade");
        assert_eq!(find(&x, &[]), None);
        assert_eq!(find(&x, &["b", "("]), Some(7));
        assert!(starts(&x, &["truncate", "only"]) && !has(&x, &["a", ","]));
        assert_eq!(name_at(&x, 1), Some(("s.a".to_string(), 5)));
        assert_eq!(name_at(&x, 6), None);
        assert_eq!(name_list(&x, 1, &["cascade"]), ["s.a", "b", "e"]);
        assert_eq!(split_commas(&w("a ( b , c ) , d")).len(), 2);
        assert_eq!(parens(&w("x ) y"), 1), (&[][..], 1));
    }
}
