//! Split points for range shards: the middle of a key range `[from, to)` in key space, for
//! integer, uuid and text keys. Integers need both bounds (an open integer range has no useful
//! middle); uuids span a finite space, so open ends are fine; text keys of printable ASCII are
//! read as base-96 fractions (end of string below every character), which keeps byte order —
//! PostgreSQL's order under the C collation — and gives a short printable split key.
//!
//! The middle of the key space is not the middle of the data: after a split, `dbkit shard
//! inspect` shows how the rows divided.

use super::hash::{parse_uuid, KeyKind};

/// A key strictly inside `[from, to)` near its middle, as text of the key type; `None` when
/// there is none or it cannot be found (open integer range, non-ASCII text, adjacent keys).
pub fn midpoint(key_type: &str, from: Option<&str>, to: Option<&str>) -> Option<String> {
    match KeyKind::of(key_type).ok()? {
        KeyKind::Int4 | KeyKind::Int8 => {
            let f: i128 = from?.trim().parse().ok()?;
            let t: i128 = to?.trim().parse().ok()?;
            (t - f >= 2).then(|| (f + (t - f) / 2).to_string())
        }
        KeyKind::Uuid => uuid_mid(from, to),
        KeyKind::Text => text_mid(from.unwrap_or(""), to),
    }
}

fn uuid_mid(from: Option<&str>, to: Option<&str>) -> Option<String> {
    let f = match from {
        Some(s) => u128::from_be_bytes(parse_uuid(s)?),
        None => 0,
    };
    // The exclusive upper bound minus one, so that an open end (2^128) fits.
    let last = match to {
        Some(s) => u128::from_be_bytes(parse_uuid(s)?).checked_sub(1)?,
        None => u128::MAX,
    };
    let below = last.checked_sub(f)?; // span - 1
    if below == 0 {
        return None;
    }
    let mid = f + below / 2 + (below & 1);
    let h = format!("{mid:032x}");
    Some(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

/// Base-96 digits: 0 ends the string, 1..=95 are `' '..='~'`.
const BASE: u32 = 96;

fn text_mid(from: &str, to: Option<&str>) -> Option<String> {
    let printable = |s: &str| s.bytes().all(|c| (0x20..=0x7e).contains(&c));
    if !printable(from) || !to.is_none_or(printable) {
        return None;
    }
    let len = from.len().max(to.map_or(1, str::len)) + 1;
    let digits = |s: &str| {
        let mut v: Vec<u32> = s.bytes().map(|c| u32::from(c) - 0x1f).collect();
        v.resize(len, 0);
        v
    };
    let a = digits(from);
    // An open end is 96^len: just above every printable string of this length.
    let b = match to {
        Some(t) => digits(t),
        None => {
            let mut v = vec![0; len];
            v[0] = BASE;
            v
        }
    };
    let mut sum = vec![0u32; len + 1];
    let mut carry = 0;
    for i in (0..len).rev() {
        let s = a[i] + b[i] + carry;
        sum[i + 1] = s % BASE;
        carry = s / BASE;
    }
    sum[0] = carry;
    let mut half = vec![0u32; len + 1];
    let mut rem = 0;
    for i in 0..=len {
        let cur = rem * BASE + sum[i];
        half[i] = cur / 2;
        rem = cur % 2;
    }
    let m = &half[1..];
    let last = m.iter().rposition(|&d| d != 0)?;
    let mut out = String::new();
    for &d in &m[..=last] {
        if d == 0 {
            // An end of string inside the key: a space keeps it above `from`.
            out.push(' ');
            break;
        }
        out.push(char::from((d + 0x1f) as u8));
    }
    let above = from.as_bytes() < out.as_bytes();
    let below = to.is_none_or(|t| out.as_bytes() < t.as_bytes());
    (above && below).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_need_both_bounds_and_room() {
        assert_eq!(
            midpoint("bigint", Some("0"), Some("100")),
            Some("50".into())
        );
        assert_eq!(midpoint("int", Some("-7"), Some("-4")), Some("-6".into()));
        assert_eq!(
            midpoint(
                "bigint",
                Some(&i64::MIN.to_string()),
                Some(&i64::MAX.to_string())
            ),
            Some("-1".into())
        );
        assert_eq!(midpoint("bigint", None, Some("100")), None);
        assert_eq!(midpoint("bigint", Some("4"), Some("5")), None);
    }

    #[test]
    fn uuids_split_their_space_in_half() {
        assert_eq!(
            midpoint("uuid", None, None).as_deref(),
            Some("80000000-0000-0000-0000-000000000000")
        );
        assert_eq!(
            midpoint("uuid", Some("80000000-0000-0000-0000-000000000000"), None).as_deref(),
            Some("c0000000-0000-0000-0000-000000000000")
        );
        assert_eq!(
            midpoint(
                "uuid",
                Some("00000000-0000-0000-0000-000000000000"),
                Some("00000000-0000-0000-0000-000000000002")
            )
            .as_deref(),
            Some("00000000-0000-0000-0000-000000000001")
        );
        assert_eq!(
            midpoint(
                "uuid",
                Some("00000000-0000-0000-0000-000000000001"),
                Some("00000000-0000-0000-0000-000000000002")
            ),
            None
        );
    }

    #[test]
    fn text_midpoints_are_printable_and_strictly_inside() {
        assert_eq!(midpoint("text", Some("a"), Some("c")).as_deref(), Some("b"));
        let m = midpoint("text", Some("a"), Some("b")).unwrap();
        assert!("a" < m.as_str() && m.as_str() < "b", "{m}");
        let m = midpoint("text", None, None).unwrap();
        assert!(!m.is_empty());
        assert_eq!(midpoint("text", Some("é"), None), None);
        assert_eq!(midpoint("text", Some("a"), Some("a ")), None);
        // Deterministic pseudo-random pairs: always strictly between, always printable.
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut word = || {
            let mut s = String::new();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for i in 0..(x % 6) {
                s.push(char::from(0x20 + ((x >> (i * 7)) % 95) as u8));
            }
            s
        };
        let mut found = 0;
        for _ in 0..5000 {
            let (mut a, mut b) = (word(), word());
            if a > b {
                std::mem::swap(&mut a, &mut b);
            }
            let to = (!b.is_empty()).then_some(b.as_str());
            if let Some(m) = midpoint("text", Some(&a), to) {
                found += 1;
                assert!(a.as_str() < m.as_str(), "{a:?} {m:?}");
                assert!(to.is_none_or(|t| m.as_str() < t), "{m:?} {to:?}");
                assert!(m.bytes().all(|c| (0x20..=0x7e).contains(&c)));
            }
        }
        assert!(found > 4000, "{found}");
    }
}
