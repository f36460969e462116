//! PostgreSQL-compatible hash partitioning: the same remainder `PARTITION BY HASH (key)` with
//! modulus N gives a row, computed without a server, for `int2`/`int4`/`int8`, `text`/`varchar`
//! (deterministic collations, UTF-8 bytes) and `uuid` keys.
//!
//! PostgreSQL hashes each key column with its type's *extended* hash function seeded with the
//! partitioning seed, folds the column hashes with `hash_combine64`, and takes the unsigned
//! remainder. The functions below follow the published algorithm (Bob Jenkins' lookup3 as
//! PostgreSQL adapted it, little-endian byte order as on every platform PostgreSQL ships for),
//! and `tests/shard_hash_pg.rs` compares them with a real server row by row.

/// The seed PostgreSQL passes to every extended hash function when routing a row to a hash
/// partition.
pub const HASH_PARTITION_SEED: u64 = 0x7A5B_2236_7996_DCFD;

/// One value of a shard key, in the type whose hash PostgreSQL would use.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyValue {
    /// `smallint`, `integer` (hashed as `int4`).
    Int4(i32),
    /// `bigint`.
    Int8(i64),
    /// `text`, `varchar`, `char` without padding: the UTF-8 bytes.
    Text(String),
    /// `uuid`: the 16 bytes.
    Uuid([u8; 16]),
    /// SQL NULL: contributes nothing to the row hash, as in PostgreSQL.
    Null,
}

/// The kinds of shard key dbkit hashes and compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `smallint`, `integer`.
    Int4,
    /// `bigint`.
    Int8,
    /// `text`, `varchar`.
    Text,
    /// `uuid`.
    Uuid,
}

/// A key type dbkit cannot hash, or a value that is not a key of its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

impl KeyKind {
    /// The kind of a PostgreSQL type name (`int`, `integer`, `int4`, `smallint`, `bigint`,
    /// `int8`, `text`, `varchar`, `uuid`…), or why it is not supported.
    pub fn of(type_name: &str) -> Result<KeyKind, KeyError> {
        match type_name.trim().to_ascii_lowercase().as_str() {
            "int" | "integer" | "int4" | "smallint" | "int2" | "serial" => Ok(KeyKind::Int4),
            "bigint" | "int8" | "bigserial" => Ok(KeyKind::Int8),
            "text" | "varchar" | "character varying" => Ok(KeyKind::Text),
            "uuid" => Ok(KeyKind::Uuid),
            other => Err(KeyError(format!(
                "shard keys of type {other:?} are not supported (int, bigint, text, uuid are)"
            ))),
        }
    }
}

impl KeyValue {
    /// Parses `text` as a key of the named PostgreSQL type (`int`, `integer`, `int4`,
    /// `smallint`, `int2`, `bigint`, `int8`, `text`, `varchar`, `uuid`).
    pub fn parse(type_name: &str, text: &str) -> Result<KeyValue, KeyError> {
        let kind = KeyKind::of(type_name)?;
        let bad = || {
            KeyError(format!(
                "{text:?} is not a valid {} key",
                type_name.trim().to_ascii_lowercase()
            ))
        };
        match kind {
            KeyKind::Int4 => text
                .trim()
                .parse::<i32>()
                .map(KeyValue::Int4)
                .map_err(|_| bad()),
            KeyKind::Int8 => text
                .trim()
                .parse::<i64>()
                .map(KeyValue::Int8)
                .map_err(|_| bad()),
            KeyKind::Text => Ok(KeyValue::Text(text.to_string())),
            KeyKind::Uuid => parse_uuid(text).map(KeyValue::Uuid).ok_or_else(bad),
        }
    }

    /// The type's extended hash with `seed`, as `hashint4extended`, `hashint8extended`,
    /// `hashtextextended` and `uuid_hash_extended` compute it. `None` for NULL.
    pub fn hash_extended(&self, seed: u64) -> Option<u64> {
        match self {
            KeyValue::Int4(v) => Some(hash_uint32_extended(*v as u32, seed)),
            KeyValue::Int8(v) => {
                let v = *v;
                let lo = v as u32;
                let hi = (v >> 32) as u32;
                Some(hash_uint32_extended(
                    lo ^ if v >= 0 { hi } else { !hi },
                    seed,
                ))
            }
            KeyValue::Text(s) => Some(hash_bytes_extended(s.as_bytes(), seed)),
            KeyValue::Uuid(b) => Some(hash_bytes_extended(b, seed)),
            KeyValue::Null => None,
        }
    }
}

/// Parses a UUID in any form PostgreSQL's `uuid_in` accepts for the common cases: 32 hex
/// digits with or without hyphens, optionally in braces.
pub fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let t = text.trim();
    let t = t
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .unwrap_or(t);
    let hex: Vec<u8> = t.bytes().filter(|b| *b != b'-').collect();
    if hex.len() != 32 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// PostgreSQL's `hash_combine64`.
pub fn hash_combine64(a: u64, b: u64) -> u64 {
    a ^ b
        .wrapping_add(0x49a0_f4dd_15e5_a8e3)
        .wrapping_add(a << 54)
        .wrapping_add(a >> 7)
}

/// The row hash of a (possibly multi-column) key, as PostgreSQL computes it for hash
/// partitioning.
pub fn row_hash(key: &[KeyValue]) -> u64 {
    key.iter()
        .fold(0u64, |acc, v| match v.hash_extended(HASH_PARTITION_SEED) {
            Some(h) => hash_combine64(acc, h),
            None => acc,
        })
}

/// The remainder (partition index) PostgreSQL's `PARTITION BY HASH` with `modulus` picks for
/// `key`. `modulus` must be positive.
pub fn partition_remainder(key: &[KeyValue], modulus: u64) -> u64 {
    row_hash(key) % modulus.max(1)
}

fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

fn finalize(a: &mut u32, b: &mut u32, c: &mut u32) {
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(14));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(11));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(25));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(16));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(4));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(14));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(24));
}

fn seeded(init: u32, seed: u64) -> (u32, u32, u32) {
    let (mut a, mut b, mut c) = (init, init, init);
    if seed != 0 {
        a = a.wrapping_add((seed >> 32) as u32);
        b = b.wrapping_add(seed as u32);
        mix(&mut a, &mut b, &mut c);
    }
    (a, b, c)
}

/// PostgreSQL's `hash_uint32_extended`.
pub fn hash_uint32_extended(k: u32, seed: u64) -> u64 {
    let (mut a, mut b, mut c) =
        seeded(0x9e37_79b9u32.wrapping_add(4).wrapping_add(3_923_095), seed);
    a = a.wrapping_add(k);
    finalize(&mut a, &mut b, &mut c);
    (u64::from(b) << 32) | u64::from(c)
}

/// PostgreSQL's `hash_bytes_extended` (`hash_any_extended`), little-endian.
pub fn hash_bytes_extended(k: &[u8], seed: u64) -> u64 {
    let len = k.len() as u32;
    let (mut a, mut b, mut c) = seeded(
        0x9e37_79b9u32.wrapping_add(len).wrapping_add(3_923_095),
        seed,
    );
    let word = |s: &[u8]| u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
    let mut chunks = k.chunks_exact(12);
    for ch in &mut chunks {
        a = a.wrapping_add(word(&ch[0..4]));
        b = b.wrapping_add(word(&ch[4..8]));
        c = c.wrapping_add(word(&ch[8..12]));
        mix(&mut a, &mut b, &mut c);
    }
    let rest = chunks.remainder();
    // The tail: bytes 0..4 into a, 4..8 into b, 8..11 into c shifted up one byte (the lowest
    // byte of c is reserved for the length).
    for (i, &byte) in rest.iter().enumerate() {
        let byte = u32::from(byte);
        match i {
            0..=3 => a = a.wrapping_add(byte << (8 * i)),
            4..=7 => b = b.wrapping_add(byte << (8 * (i - 4))),
            _ => c = c.wrapping_add(byte << (8 * (i - 7))),
        }
    }
    finalize(&mut a, &mut b, &mut c);
    (u64::from(b) << 32) | u64::from(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int8_in_int4_range_hashes_like_int4() {
        for v in [-5i32, -1, 0, 1, 42, i32::MIN, i32::MAX] {
            assert_eq!(
                KeyValue::Int4(v).hash_extended(HASH_PARTITION_SEED),
                KeyValue::Int8(i64::from(v)).hash_extended(HASH_PARTITION_SEED),
                "{v}"
            );
        }
    }

    #[test]
    fn null_contributes_nothing() {
        assert_eq!(row_hash(&[KeyValue::Null]), 0);
        assert_eq!(
            row_hash(&[KeyValue::Null, KeyValue::Int4(7)]),
            row_hash(&[KeyValue::Int4(7)])
        );
    }

    #[test]
    fn parses_keys_and_rejects_bad_ones() {
        assert_eq!(
            KeyValue::parse("bigint", " 12 ").unwrap(),
            KeyValue::Int8(12)
        );
        assert!(KeyValue::parse("int", "99999999999").is_err());
        let u = KeyValue::parse("uuid", "{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}").unwrap();
        assert_eq!(
            u,
            KeyValue::parse("uuid", "a0eebc999c0b4ef8bb6d6bb9bd380a11").unwrap()
        );
        assert!(KeyValue::parse("uuid", "not-a-uuid").is_err());
        assert!(KeyValue::parse("numeric", "1")
            .unwrap_err()
            .0
            .contains("not supported"));
    }

    #[test]
    fn remainders_spread_over_the_modulus() {
        let mut counts = [0usize; 8];
        for v in 0..8000i64 {
            counts[partition_remainder(&[KeyValue::Int8(v)], 8) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (800..1200).contains(&c)),
            "{counts:?}"
        );
    }
}
