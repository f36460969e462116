//! Handing a shard map to engines that already route and query across nodes: the SQL of a
//! postgres_fdw coordinator (a partitioned table per sharded table whose partitions are
//! foreign tables with the map's hash remainders, ranges or key lists), PL/Proxy's cluster
//! configuration functions, and what a Citus cluster would run. Pure: the nodes' columns and
//! where each shard's rows are come from the caller.

use super::map::{Method, ShardMap};
use super::moves;
use crate::sql::ident::{comment_text, quote_ident, quote_literal, quote_qualified};
use serde::Serialize;
use std::collections::BTreeMap;

/// How the coordinator reaches a node (never a password).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Server {
    /// The node's name in the map.
    pub node: String,
    /// Host name, address or socket directory.
    pub host: Option<String>,
    /// Port.
    pub port: Option<u16>,
    /// Database.
    pub dbname: Option<String>,
    /// User name.
    pub user: Option<String>,
}

/// One column of a sharded table.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    /// Name.
    pub name: String,
    /// Type as `format_type` prints it.
    pub type_sql: String,
    /// NOT NULL.
    pub not_null: bool,
}

/// Where one shard's rows of one table are on its node.
#[derive(Debug, Clone, Serialize)]
pub struct Remote {
    /// The shard.
    pub shard: u64,
    /// The map's table.
    pub table: String,
    /// The node.
    pub node: String,
    /// Schema on the node.
    pub schema: String,
    /// The relation holding the rows (partition, `{table}_{id}` or the table).
    pub relation: String,
    /// For a table holding several shards: the shard's rows (a view on the node selects them).
    pub filter: Option<String>,
}

/// Generated SQL: the coordinator's script and, per node, what must run there first.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Export {
    /// The engine.
    pub engine: String,
    /// Run on the coordinator.
    pub coordinator: String,
    /// Run on each node first (views selecting one shard of a shared table).
    pub nodes: BTreeMap<String, String>,
    /// What the engine cannot express, or what was left to do by hand.
    pub notes: Vec<String>,
}

impl Export {
    /// One script: the node parts first (each under a comment naming the node), then the
    /// coordinator.
    pub fn script(&self) -> String {
        let mut s = String::new();
        for (node, sql) in &self.nodes {
            s.push_str(&format!(
                "-- run on node {} first:\n{sql}\n",
                comment_text(node)
            ));
        }
        if !self.nodes.is_empty() {
            s.push_str("-- then on the coordinator:\n");
        }
        s.push_str(&self.coordinator);
        s
    }
}

/// The name of the view selecting one shard of a shared table on its node.
pub fn shard_view(table_name: &str, shard: u64) -> String {
    format!("dbkit_{table_name}_shard_{shard}")
}

fn server_options(s: &Server) -> String {
    let mut o = Vec::new();
    if let Some(h) = &s.host {
        o.push(format!("host {}", quote_literal(h)));
    }
    if let Some(p) = s.port {
        o.push(format!("port {}", quote_literal(&p.to_string())));
    }
    if let Some(d) = &s.dbname {
        o.push(format!("dbname {}", quote_literal(d)));
    }
    if o.is_empty() {
        String::new()
    } else {
        format!(" OPTIONS ({})", o.join(", "))
    }
}

/// The partition bound of a shard, as `CREATE TABLE … PARTITION OF` takes it.
fn bound(map: &ShardMap, s: &super::map::Shard) -> Result<String, String> {
    let kt = map.sharding.key_type.to_ascii_lowercase();
    let lit = |v: &str| {
        if matches!(
            kt.as_str(),
            "int" | "integer" | "int4" | "smallint" | "int2" | "bigint" | "int8"
        ) && v.parse::<i64>().is_ok()
        {
            v.to_string()
        } else {
            quote_literal(v)
        }
    };
    match map.sharding.method {
        Method::Hash => {
            let h = s
                .hash
                .ok_or_else(|| format!("shard {} has no hash slot", s.id))?;
            Ok(format!(
                "FOR VALUES WITH (MODULUS {}, REMAINDER {})",
                h.modulus, h.remainder
            ))
        }
        Method::Range => {
            let r = s
                .range
                .clone()
                .ok_or_else(|| format!("shard {} has no range", s.id))?;
            Ok(format!(
                "FOR VALUES FROM ({}) TO ({})",
                r.from.as_deref().map_or("MINVALUE".into(), lit),
                r.to.as_deref().map_or("MAXVALUE".into(), lit)
            ))
        }
        Method::List => Ok(format!(
            "FOR VALUES IN ({})",
            s.keys.iter().map(|k| lit(k)).collect::<Vec<_>>().join(", ")
        )),
        Method::Ring => {
            Err("a consistent-hash ring cannot be written as PostgreSQL partitions".into())
        }
    }
}

/// A postgres_fdw coordinator for `map`: the extension, a server per node, a user mapping per
/// server without a password, and per sharded table a partitioned table whose partitions are
/// foreign tables on the shard's node. `columns` per map table; `remotes` per shard and table.
pub fn postgres_fdw(
    map: &ShardMap,
    servers: &[Server],
    columns: &BTreeMap<String, Vec<Column>>,
    remotes: &[Remote],
) -> Result<Export, String> {
    let mut out = Export {
        engine: "postgres_fdw".into(),
        ..Default::default()
    };
    let mut c = String::from("CREATE EXTENSION IF NOT EXISTS postgres_fdw;\n");
    for s in servers {
        c.push_str(&format!(
            "CREATE SERVER {} FOREIGN DATA WRAPPER postgres_fdw{};\n",
            quote_ident(&s.node),
            server_options(s)
        ));
        let user = s
            .user
            .as_deref()
            .map(|u| format!(" OPTIONS (user {})", quote_literal(u)))
            .unwrap_or_default();
        c.push_str(&format!(
            "CREATE USER MAPPING FOR CURRENT_USER SERVER {}{user};\n",
            quote_ident(&s.node)
        ));
    }
    out.notes.push(
        "user mappings carry no password: add one per server with ALTER USER MAPPING FOR CURRENT_USER SERVER … OPTIONS (ADD password '…'), or use a .pgpass file on the coordinator (superusers only)".into(),
    );
    for (table, key) in &map.tables {
        let cols = columns
            .get(table)
            .ok_or_else(|| format!("the columns of {table} were not read from any node"))?;
        let (schema, name) = moves::split_table(table, "public");
        let parent = quote_qualified(&[schema, name]);
        let defs: Vec<String> = cols
            .iter()
            .map(|col| {
                format!(
                    "{} {}{}",
                    quote_ident(&col.name),
                    col.type_sql,
                    if col.not_null { " NOT NULL" } else { "" }
                )
            })
            .collect();
        let how = match map.sharding.method {
            Method::Hash => "HASH",
            Method::Range => "RANGE",
            Method::List => "LIST",
            Method::Ring => {
                return Err(
                    "a consistent-hash ring cannot be written as PostgreSQL partitions".into(),
                )
            }
        };
        c.push_str(&format!(
            "CREATE SCHEMA IF NOT EXISTS {};\n",
            quote_ident(schema)
        ));
        c.push_str(&format!(
            "CREATE TABLE {parent} ({}) PARTITION BY {how} ({});\n",
            defs.join(", "),
            quote_ident(key)
        ));
        for s in map
            .shards
            .iter()
            .filter(|s| s.table.as_deref().is_none_or(|t| t == table))
        {
            let r = remotes
                .iter()
                .find(|r| r.shard == s.id && &r.table == table)
                .ok_or_else(|| {
                    format!(
                        "shard {}'s rows of {table} were not found on {}",
                        s.id, s.node
                    )
                })?;
            let remote_name = match &r.filter {
                None => r.relation.clone(),
                Some(f) => {
                    let view = shard_view(name, s.id);
                    let sql = out.nodes.entry(r.node.clone()).or_default();
                    sql.push_str(&format!(
                        "CREATE OR REPLACE VIEW {} AS SELECT * FROM {} WHERE {f} WITH CASCADED CHECK OPTION;\n",
                        quote_qualified(&[&r.schema, &view]),
                        quote_qualified(&[&r.schema, &r.relation])
                    ));
                    view
                }
            };
            c.push_str(&format!(
                "CREATE FOREIGN TABLE {} PARTITION OF {parent} {} SERVER {} OPTIONS (schema_name {}, table_name {});\n",
                quote_qualified(&[schema, &format!("{name}_shard_{}", s.id)]),
                bound(map, s)?,
                quote_ident(&s.node),
                quote_literal(&r.schema),
                quote_literal(&remote_name)
            ));
        }
    }
    out.coordinator = c;
    Ok(out)
}

/// The PL/Proxy partition count a hash map needs (one power of two for every shard), or why
/// PL/Proxy cannot express the map.
pub fn plproxy_partitions(map: &ShardMap) -> Result<u64, String> {
    if map.sharding.method != Method::Hash {
        return Err(format!(
            "PL/Proxy routes by a hash masked to a power of two of partitions; a {} map cannot be expressed (only hash maps can)",
            serde_json::to_value(map.sharding.method).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
        ));
    }
    let moduli: Vec<u64> = map
        .shards
        .iter()
        .filter_map(|s| s.hash.map(|h| h.modulus))
        .collect();
    if let Some(m) = moduli.iter().find(|m| !m.is_power_of_two()) {
        return Err(format!(
            "PL/Proxy needs a power-of-two partition count; the map's modulus {m} is not one"
        ));
    }
    let max = moduli.iter().copied().max().unwrap_or(1);
    if max > 1 << 16 {
        return Err(format!(
            "modulus {max}: more partitions than PL/Proxy configurations hold sensibly"
        ));
    }
    Ok(max)
}

/// PL/Proxy's cluster configuration for a hash map: `plproxy.get_cluster_version`,
/// `get_cluster_partitions` (one connection string per partition, in remainder order; a shard
/// of a smaller modulus fills every partition it covers) and `get_cluster_config`, plus
/// `dbkit.shard_partition(key)`, the partition PostgreSQL's hash partitioning gives a key, for
/// `RUN ON dbkit.shard_partition(key)` (PL/Proxy's own `hashtext` is another hash than the
/// map's).
pub fn plproxy(map: &ShardMap, cluster: &str, servers: &[Server]) -> Result<Export, String> {
    let n = plproxy_partitions(map)?;
    let kind = super::hash::KeyKind::of(&map.sharding.key_type).map_err(|e| e.to_string())?;
    let conn = |node: &str| -> Result<String, String> {
        let s = servers
            .iter()
            .find(|s| s.node == node && s.host.is_some())
            .ok_or_else(|| {
                format!("node {node} has no connection settings (its URL is not known here)")
            })?;
        Ok(moves::conninfo(&[
            ("host", s.host.clone()),
            ("port", s.port.map(|p| p.to_string())),
            ("dbname", s.dbname.clone()),
            ("user", s.user.clone()),
        ]))
    };
    let mut parts = Vec::with_capacity(n as usize);
    for p in 0..n {
        let s = map
            .shards
            .iter()
            .find(|s| s.hash.is_some_and(|h| p % h.modulus == h.remainder))
            .ok_or_else(|| format!("no shard covers partition {p} of {n}"))?;
        parts.push(quote_literal(&conn(&s.node)?));
    }
    let type_sql = match kind {
        super::hash::KeyKind::Int4 => "int4",
        super::hash::KeyKind::Int8 => "int8",
        super::hash::KeyKind::Text => "text",
        super::hash::KeyKind::Uuid => "uuid",
    };
    let expr = moves::hash_remainder(&map.sharding.key_type.to_ascii_lowercase(), "key", n)
        .ok_or("the key type cannot be hashed")?;
    let c = quote_literal(cluster);
    let coordinator = format!(
        "CREATE SCHEMA IF NOT EXISTS plproxy;
CREATE OR REPLACE FUNCTION plproxy.get_cluster_version(cluster_name text) RETURNS int4
  LANGUAGE sql AS $dbkit$ SELECT CASE WHEN cluster_name = {c} THEN {} END $dbkit$;
CREATE OR REPLACE FUNCTION plproxy.get_cluster_partitions(cluster_name text) RETURNS SETOF text
  LANGUAGE sql AS $dbkit$ SELECT unnest(ARRAY[{}]::text[]) WHERE cluster_name = {c} $dbkit$;
CREATE OR REPLACE FUNCTION plproxy.get_cluster_config(IN cluster_name text, OUT key text, OUT val text) RETURNS SETOF record
  LANGUAGE sql AS $dbkit$ SELECT 'connection_lifetime'::text, '1800'::text $dbkit$;
CREATE SCHEMA IF NOT EXISTS dbkit;
CREATE OR REPLACE FUNCTION dbkit.shard_partition(key {type_sql}) RETURNS int4
  LANGUAGE sql IMMUTABLE AS $dbkit$ SELECT (coalesce({expr}, 0))::int4 $dbkit$;
",
        map.version.min(i32::MAX as u64),
        parts.join(", ")
    );
    Ok(Export {
        engine: "plproxy".into(),
        coordinator,
        nodes: BTreeMap::new(),
        notes: vec![
            format!("route with RUN ON dbkit.shard_partition(<shard key>) in cluster {cluster:?}: it is PostgreSQL's hash partitioning, the map's; PL/Proxy's hashtext() is another hash and would send keys to the wrong node"),
            "connection strings carry no password: PL/Proxy reads it from .pgpass or a user mapping (plproxy's SQL/MED mode)".into(),
        ],
    })
}

/// The SQL a Citus cluster would run for the map: distributed tables with the colocation
/// groups, and a `citus_move_shard_placement` per move of `moves` (`shard ids`, from, to).
/// Untested: Citus is not packaged for this machine; Citus hashes keys into its own shard
/// ranges, so dbkit's shard ids are not Citus's — the moves name the Citus shard holding one
/// key of each dbkit shard, to be checked.
pub fn citus(map: &ShardMap, moves_: &[(Vec<u64>, String, String)], servers: &[Server]) -> Export {
    let mut c = String::from("CREATE EXTENSION IF NOT EXISTS citus;\n");
    for s in servers {
        if let Some(h) = &s.host {
            c.push_str(&format!(
                "SELECT citus_add_node({}, {});\n",
                quote_literal(h),
                s.port.unwrap_or(5432)
            ));
        }
    }
    let count = map
        .shards
        .iter()
        .filter_map(|s| s.hash.map(|h| h.modulus))
        .max()
        .unwrap_or(32);
    let mut first_of_group: BTreeMap<String, String> = BTreeMap::new();
    for (table, key) in &map.tables {
        let group = map
            .colocation
            .iter()
            .find(|g| g.tables.contains(table))
            .map(|g| g.name.clone());
        let with = match group.as_ref().and_then(|g| first_of_group.get(g)) {
            Some(first) => quote_literal(first),
            None => "'none'".into(),
        };
        if let Some(g) = group {
            first_of_group.entry(g).or_insert_with(|| table.clone());
        }
        c.push_str(&format!(
            "SELECT create_distributed_table({}, {}, colocate_with => {with}, shard_count => {count});\n",
            quote_literal(table),
            quote_literal(key)
        ));
    }
    for (shards, from, to) in moves_ {
        let (f, t) = (
            servers.iter().find(|s| &s.node == from),
            servers.iter().find(|s| &s.node == to),
        );
        let host = |s: Option<&Server>, node: &str| {
            s.and_then(|s| s.host.clone())
                .unwrap_or_else(|| format!("<host of {node}>"))
        };
        let port = |s: Option<&Server>| s.and_then(|s| s.port).unwrap_or(5432);
        c.push_str(&format!(
            "-- dbkit shard(s) {}\nSELECT citus_move_shard_placement(<citus shard id>, {}, {}, {}, {}, shard_transfer_mode => 'force_logical');\n",
            shards.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
            quote_literal(&host(f, from)),
            port(f),
            quote_literal(&host(t, to)),
            port(t)
        ));
    }
    Export {
        engine: "citus".into(),
        coordinator: c,
        nodes: BTreeMap::new(),
        notes: vec![
            "untested: Citus cannot be installed on this machine".into(),
            "Citus hashes keys into its own shard ranges (hashint8 over the int4 space), not PostgreSQL's hash partitioning: the data is placed by Citus when distributed, and dbkit's shard ids are not Citus shard ids. Find the Citus shard of a key with get_shard_id_for_distribution_column() to fill in each move".into(),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(t: &str) -> ShardMap {
        crate::mapfile::parse_file(t, "m.toml").unwrap()
    }

    const HASH: &str = r#"
version = 3
[tables]
"sales.orders" = "customer_id"
[[nodes]]
name = "a"
[[nodes]]
name = "b'x"
[[shards]]
id = 0
node = "a"
hash = { modulus = 2, remainder = 0 }
[[shards]]
id = 1
node = "b'x"
hash = { modulus = 4, remainder = 1 }
[[shards]]
id = 3
node = "a"
hash = { modulus = 4, remainder = 3 }
"#;

    fn servers() -> Vec<Server> {
        vec![
            Server {
                node: "a".into(),
                host: Some("10.0.0.1".into()),
                port: Some(5432),
                dbname: Some("shop".into()),
                user: Some("app".into()),
            },
            Server {
                node: "b'x".into(),
                host: Some("10.0.0.2".into()),
                port: None,
                dbname: Some("shop".into()),
                user: None,
            },
        ]
    }

    #[test]
    fn fdw_partitions_follow_the_map_and_shared_tables_get_views() {
        let m = map(HASH);
        let cols = BTreeMap::from([(
            "sales.orders".to_string(),
            vec![Column {
                name: "customer_id".into(),
                type_sql: "bigint".into(),
                not_null: true,
            }],
        )]);
        let remotes = vec![
            Remote {
                shard: 0,
                table: "sales.orders".into(),
                node: "a".into(),
                schema: "sales".into(),
                relation: "orders_p0".into(),
                filter: None,
            },
            Remote {
                shard: 1,
                table: "sales.orders".into(),
                node: "b'x".into(),
                schema: "sales".into(),
                relation: "orders".into(),
                filter: Some("(x)".into()),
            },
            Remote {
                shard: 3,
                table: "sales.orders".into(),
                node: "a".into(),
                schema: "sales".into(),
                relation: "orders_3".into(),
                filter: None,
            },
        ];
        let e = postgres_fdw(&m, &servers(), &cols, &remotes).unwrap();
        assert!(e.coordinator.contains("CREATE SERVER \"b'x\" FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '10.0.0.2', dbname 'shop');"), "{}", e.coordinator);
        assert!(e.coordinator.contains("CREATE TABLE sales.orders (customer_id bigint NOT NULL) PARTITION BY HASH (customer_id);"));
        assert!(e.coordinator.contains("CREATE FOREIGN TABLE sales.orders_shard_1 PARTITION OF sales.orders FOR VALUES WITH (MODULUS 4, REMAINDER 1) SERVER \"b'x\" OPTIONS (schema_name 'sales', table_name 'dbkit_orders_shard_1');"));
        assert!(!e.coordinator.contains("password"));
        assert_eq!(e.nodes["b'x"], "CREATE OR REPLACE VIEW sales.dbkit_orders_shard_1 AS SELECT * FROM sales.orders WHERE (x) WITH CASCADED CHECK OPTION;\n");
        assert!(e.script().starts_with("-- run on node b'x first:"));
        assert!(postgres_fdw(&m, &servers(), &BTreeMap::new(), &remotes).is_err());
        assert!(postgres_fdw(&m, &servers(), &cols, &remotes[..1])
            .unwrap_err()
            .contains("shard 1"));
    }

    #[test]
    fn plproxy_fills_every_partition_and_refuses_what_it_cannot_express() {
        let m = map(HASH);
        assert_eq!(plproxy_partitions(&m), Ok(4));
        let e = plproxy(&m, "shop", &servers()).unwrap();
        // Partitions 0 and 2 are shard 0 (modulus 2) on a, 1 on b'x, 3 on a.
        let a = "'host=''10.0.0.1'' port=''5432'' dbname=''shop'' user=''app'''";
        let b = "'host=''10.0.0.2'' dbname=''shop'''";
        assert!(
            e.coordinator
                .contains(&format!("ARRAY[{a}, {b}, {a}, {a}]")),
            "{}",
            e.coordinator
        );
        assert!(
            e.coordinator
                .contains("hashint8extended(key::int8, 8816678312871386365)"),
            "{}",
            e.coordinator
        );
        let mut three = m.clone();
        three.shards[1].hash = Some(super::super::map::HashSlot {
            modulus: 3,
            remainder: 1,
        });
        assert!(plproxy_partitions(&three)
            .unwrap_err()
            .contains("power-of-two"));
        let mut range = m.clone();
        range.sharding.method = Method::Range;
        assert!(plproxy_partitions(&range).unwrap_err().contains("range"));
    }

    #[test]
    fn citus_names_colocation_and_moves() {
        let m = map(r#"
version = 1
[tables]
customers = "id"
orders = "customer_id"
[[colocation]]
name = "c"
tables = ["customers", "orders"]
[[nodes]]
name = "a"
[[shards]]
id = 1
node = "a"
hash = { modulus = 1, remainder = 0 }
"#);
        let e = citus(&m, &[(vec![1, 2], "a".into(), "b".into())], &[]);
        assert!(
            e.coordinator
                .contains("create_distributed_table('customers', 'id', colocate_with => 'none'"),
            "{}",
            e.coordinator
        );
        assert!(
            e.coordinator.contains(
                "create_distributed_table('orders', 'customer_id', colocate_with => 'customers'"
            ),
            "{}",
            e.coordinator
        );
        assert!(e.coordinator.contains(
            "-- dbkit shard(s) 1, 2\nSELECT citus_move_shard_placement(<citus shard id>"
        ));
        assert!(e.notes[0].contains("untested"));
    }
}
