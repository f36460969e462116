//! Writing a shard map back to its file: the new values edited into the user's TOML, so the
//! comments, key order and layout they wrote survive (`--write-map`); nodes and shards are
//! matched by name and by id (and table), new ones appended, gone ones removed.

use super::ShardMap;
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table};

/// The text to write for `new`: `original` (the TOML the map was read from) with only the
/// values that differ from what `original` said; pretty TOML when there is no original or it
/// does not parse; JSON when `json`.
pub fn render(new: &ShardMap, original: Option<&str>, json: bool) -> String {
    if json {
        return serde_json::to_string_pretty(new).unwrap_or_default() + "\n";
    }
    let fresh_text = new.to_toml();
    let parsed = original.and_then(|text| {
        let base = ShardMap::parse(text, "")
            .ok()?
            .to_toml()
            .parse::<DocumentMut>()
            .ok()?;
        Some((text.parse::<DocumentMut>().ok()?, base))
    });
    let (Some((mut doc, base)), Ok(fresh)) = (parsed, fresh_text.parse::<DocumentMut>()) else {
        return fresh_text;
    };
    merge_table(doc.as_table_mut(), Some(base.as_table()), fresh.as_table());
    doc.to_string()
}

/// Same value, whatever the spacing and comments around it.
fn same(a: &Item, b: &Item) -> bool {
    let norm = |i: &Item| -> String {
        let mut i = i.clone();
        if let Some(v) = i.as_value_mut() {
            v.decor_mut().clear();
        }
        i.to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    norm(a) == norm(b)
}

/// Apply to `user` what changed from `base` to `new` (both as dbkit writes them), key by key.
fn merge_table(user: &mut Table, base: Option<&Table>, new: &Table) {
    let removed: Vec<String> = base
        .map(|b| {
            b.iter()
                .filter(|(k, _)| !new.contains_key(k))
                .map(|(k, _)| k.to_string())
                .collect()
        })
        .unwrap_or_default();
    for k in removed {
        user.remove(&k);
    }
    for (k, nv) in new.iter() {
        let bv = base.and_then(|b| b.get(k));
        if bv.is_some_and(|bv| same(bv, nv)) {
            continue;
        }
        match (user.get_mut(k), nv) {
            (Some(Item::ArrayOfTables(ua)), Item::ArrayOfTables(na)) => {
                merge_array(ua, bv.and_then(Item::as_array_of_tables), na, k)
            }
            (Some(Item::Table(ut)), Item::Table(nt)) => {
                merge_table(ut, bv.and_then(Item::as_table), nt)
            }
            (Some(uv), _) if same(uv, nv) => {}
            (Some(Item::Value(uv)), Item::Value(nv)) => {
                let decor = uv.decor().clone();
                *uv = nv.clone();
                *uv.decor_mut() = decor;
            }
            (Some(uv), _) => *uv = nv.clone(),
            (None, _) => {
                user.insert(k, nv.clone());
            }
        }
    }
}

/// The key a node or shard is known by: its name, or its id and table.
fn identity(t: &Table, array: &str) -> String {
    let get = |k: &str| t.get(k).map(|v| v.to_string().trim().to_string());
    match array {
        "nodes" => get("name").unwrap_or_default(),
        _ => format!(
            "{}/{}",
            get("id").unwrap_or_default(),
            get("table").unwrap_or_default()
        ),
    }
}

fn merge_array(
    user: &mut ArrayOfTables,
    base: Option<&ArrayOfTables>,
    new: &ArrayOfTables,
    name: &str,
) {
    let mut kept: Vec<Option<Table>> = user.iter().map(|t| Some(t.clone())).collect();
    let mut out = ArrayOfTables::new();
    for nt in new.iter() {
        let key = identity(nt, name);
        let found = kept
            .iter_mut()
            .find(|t| t.as_ref().is_some_and(|t| identity(t, name) == key))
            .and_then(Option::take);
        let bt = base.and_then(|b| b.iter().find(|t| identity(t, name) == key));
        match found {
            Some(mut t) => {
                merge_table(&mut t, bt, nt);
                out.push(t);
            }
            None => out.push(nt.clone()),
        }
    }
    *user = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &str = "# The shop's map: keep this comment.\nversion = 3 # bumped by dbkit\n\n[sharding]\nmethod = \"hash\"\nkey_type = \"bigint\"\n\n[tables]\ncustomers = \"id\"\n\n# The first node.\n[[nodes]]\nname = \"a\"\nurl = \"postgres://app@a/shop\"\n\n[[nodes]]\nname = \"b\"\nurl = \"postgres://app@b/shop\"\n\n[[shards]]\nid = 0\nnode = \"a\"\nhash = { modulus = 2, remainder = 0 }\nbytes = 100 # old size\n\n[[shards]]\nid = 1\nnode = \"b\"\nhash = { modulus = 2, remainder = 1 }\n";

    #[test]
    fn edits_keep_comments_and_layout() {
        let mut m = ShardMap::parse(MAP, "m.toml").unwrap();
        m.version += 1;
        m.shards[0].bytes = Some(4096);
        m.shards[1].node = "c".to_string();
        let mut c = m.nodes[1].clone();
        c.name = "c".to_string();
        c.url = Some("postgres://app@c/shop".to_string());
        m.nodes.push(c);
        let text = render(&m, Some(MAP), false);
        assert!(
            text.starts_with(
                "# The shop's map: keep this comment.\nversion = 4 # bumped by dbkit\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("# The first node.\n[[nodes]]\nname = \"a\""),
            "{text}"
        );
        assert!(text.contains("bytes = 4096 # old size"), "{text}");
        assert!(
            text.contains("hash = { modulus = 2, remainder = 0 }"),
            "{text}"
        );
        assert!(text.contains("name = \"c\""), "{text}");
        let back = ShardMap::parse(&text, "m.toml").unwrap();
        assert_eq!(back.version, 4);
        assert_eq!(back.shards[1].node, "c");
        assert_eq!(back.nodes.len(), 3);
        // Removed entries go; no original gives plain TOML; JSON when asked.
        m.shards.pop();
        let back = ShardMap::parse(&render(&m, Some(MAP), false), "m.toml").unwrap();
        assert_eq!(back.shards.len(), 1);
        assert!(ShardMap::parse(&render(&m, None, false), "m.toml").is_ok());
        assert!(serde_json::from_str::<serde_json::Value>(&render(&m, Some(MAP), true)).is_ok());
    }
}
