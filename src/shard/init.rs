//! A first shard map (`dbkit shard init`): N shards spread round-robin over the nodes, by
//! PostgreSQL-compatible hash (`modulus` N) or by key range (equal slices of an integer range,
//! or of the UUID space), the sharded tables in one colocation group.

use super::map::{Colocation, HashSlot, KeyRange, Method, Node, Shard, ShardMap, Sharding};
use std::collections::BTreeMap;

/// What the first map looks like.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The nodes, in the order shards are dealt to them.
    pub nodes: Vec<Node>,
    /// How many shards.
    pub shards: u64,
    /// Hash or range.
    pub method: Method,
    /// The key's type: int, bigint, text or uuid.
    pub key_type: String,
    /// For an integer range map: the keys to split, `[from, to)`; below and above go to the
    /// first and last shard.
    pub key_range: Option<(i64, i64)>,
    /// Sharded tables and their key column.
    pub tables: Vec<(String, String)>,
}

/// Why a map cannot be made as asked.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InitError(pub String);

/// Build the map (version 1).
pub fn build(o: &InitOptions) -> Result<ShardMap, InitError> {
    let err = |m: &str| Err(InitError(m.to_string()));
    if o.nodes.is_empty() {
        return err("give at least one node");
    }
    if o.shards == 0 || o.shards > 65_536 {
        return err("the number of shards must be between 1 and 65536");
    }
    let key_type = o.key_type.to_ascii_lowercase();
    if !matches!(key_type.as_str(), "int" | "bigint" | "text" | "uuid") {
        return err("the key type must be int, bigint, text or uuid");
    }
    let ranges: Vec<Option<KeyRange>> = match o.method {
        Method::Hash => vec![None; o.shards as usize],
        Method::Range => range_bounds(o, &key_type)?.into_iter().map(Some).collect(),
        Method::List | Method::Ring => {
            return err(
                "shard init makes hash or range maps; list and ring maps are written by hand",
            )
        }
    };
    let shards = ranges
        .into_iter()
        .enumerate()
        .map(|(i, range)| Shard {
            id: i as u64,
            node: o.nodes[i % o.nodes.len()].name.clone(),
            table: None,
            hash: (o.method == Method::Hash).then_some(HashSlot {
                modulus: o.shards,
                remainder: i as u64,
            }),
            range,
            keys: Vec::new(),
            bytes: None,
            rows: None,
            load: None,
        })
        .collect();
    let tables: BTreeMap<String, String> = o.tables.iter().cloned().collect();
    let colocation = if tables.len() > 1 {
        vec![Colocation {
            name: "default".to_string(),
            tables: o.tables.iter().map(|(t, _)| t.clone()).collect(),
        }]
    } else {
        Vec::new()
    };
    Ok(ShardMap {
        version: 1,
        sharding: Sharding {
            method: o.method,
            key_type,
            ..Sharding::default()
        },
        tables,
        colocation,
        nodes: o.nodes.clone(),
        shards,
    })
}

/// `shards` consecutive ranges covering every key: the first and last unbounded outside.
fn range_bounds(o: &InitOptions, key_type: &str) -> Result<Vec<KeyRange>, InitError> {
    let n = o.shards;
    let cuts: Vec<String> = match key_type {
        "int" | "bigint" => {
            let Some((from, to)) = o.key_range else {
                return Err(InitError(
                    "a range map of integers needs the keys to split: --key-range FROM..TO".into(),
                ));
            };
            if to <= from || ((to as i128 - from as i128) as u128) < u128::from(n) {
                return Err(InitError(format!(
                    "--key-range {from}..{to} is too small for {n} shards"
                )));
            }
            let span = to as i128 - from as i128;
            (1..n)
                .map(|i| (from as i128 + span * i as i128 / n as i128).to_string())
                .collect()
        }
        "uuid" => (1..n)
            .map(|i| {
                let v = (u128::MAX / u128::from(n)) * u128::from(i);
                let h = format!("{v:032x}");
                format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
            })
            .collect(),
        _ => {
            return Err(InitError(
                "a range map of text keys needs split points chosen for the data: write the ranges by hand, or use --method hash".into(),
            ))
        }
    };
    let mut out = Vec::new();
    let mut from: Option<String> = None;
    for c in cuts {
        out.push(KeyRange {
            from: from.take(),
            to: Some(c.clone()),
        });
        from = Some(c);
    }
    out.push(KeyRange { from, to: None });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::map::NodeState;

    fn node(name: &str) -> Node {
        Node {
            name: name.into(),
            url: Some(format!("postgres://app@{name}/shop")),
            url_env: None,
            weight: 1.0,
            zone: None,
            state: NodeState::Active,
        }
    }

    fn opts(method: Method, key_type: &str) -> InitOptions {
        InitOptions {
            nodes: vec![node("a"), node("b"), node("c")],
            shards: 64,
            method,
            key_type: key_type.into(),
            key_range: Some((0, 1_000_000)),
            tables: vec![
                ("customers".into(), "id".into()),
                ("orders".into(), "customer_id".into()),
            ],
        }
    }

    #[test]
    fn hash_and_range_maps_are_valid_and_cover_every_key() {
        for (method, key_type) in [
            (Method::Hash, "bigint"),
            (Method::Hash, "text"),
            (Method::Range, "bigint"),
            (Method::Range, "uuid"),
        ] {
            let m = build(&opts(method, key_type)).unwrap();
            assert_eq!(m.shards.len(), 64);
            let errors: Vec<_> = m
                .validate()
                .into_iter()
                .filter(|f| f.severity == crate::Severity::Error)
                .collect();
            assert!(errors.is_empty(), "{method:?} {key_type}: {errors:?}");
            // Round-robin: 22, 21, 21.
            let on_a = m.shards.iter().filter(|s| s.node == "a").count();
            assert_eq!(on_a, 22);
            // Written and read back, every key has a home.
            let back = ShardMap::parse(&m.to_toml(), "m.toml").unwrap();
            let key = if key_type == "uuid" {
                "8f0e0a7c-1d2b-4c3d-9e8f-0123456789ab"
            } else {
                "424242"
            };
            assert_eq!(back.locate(key).unwrap().len(), 1, "{method:?} {key_type}");
            assert_eq!(back.colocation.len(), 1);
        }
    }

    #[test]
    fn what_cannot_be_made_is_refused() {
        let mut o = opts(Method::Range, "text");
        assert!(build(&o).is_err());
        o.key_type = "bigint".into();
        o.key_range = None;
        assert!(build(&o).unwrap_err().0.contains("--key-range"));
        o.key_range = Some((0, 10));
        assert!(build(&o).is_err());
        let mut o = opts(Method::Hash, "bigint");
        o.shards = 0;
        assert!(build(&o).is_err());
        o.shards = 8;
        o.nodes.clear();
        assert!(build(&o).is_err());
        o.nodes = vec![node("a")];
        o.key_type = "float".into();
        assert!(build(&o).is_err());
    }
}
