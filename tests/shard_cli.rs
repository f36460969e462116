//! `dbkit shard locate` and `dbkit shard validate` on the shipped maps.

mod common;

fn dbkit(args: &[&str]) -> (Option<i32>, String, String) {
    common::dbkit_in(args, &[], &[])
}

#[test]
fn locate_agrees_with_the_postgresql_hash() {
    let (code, out, err) = dbkit(&[
        "shard",
        "locate",
        "--map",
        "fixtures/shardmaps/shop.toml",
        "42",
        "-7",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for (i, key) in [42i64, -7].into_iter().enumerate() {
        let r = dbkit::shard::partition_remainder(&[dbkit::shard::KeyValue::Int8(key)], 8);
        assert_eq!(v["locations"][i]["shard"], r, "{v:#}");
    }
}

#[test]
fn locate_rejects_a_key_of_the_wrong_type() {
    let (code, _, err) = dbkit(&[
        "shard",
        "locate",
        "--map",
        "fixtures/shardmaps/shop.toml",
        "abc",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("not a valid bigint key"), "{err}");
}

#[test]
fn the_shop_map_is_valid() {
    let (code, out, err) = dbkit(&[
        "shard",
        "validate",
        "--map",
        "fixtures/shardmaps/shop.toml",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 0, "{v:#}");
    assert_eq!(v["nodes"][0]["shards"], 3);
}

#[test]
fn the_broken_map_gets_every_finding_and_no_secret() {
    let (code, out, err) = dbkit(&[
        "shard",
        "validate",
        "--map",
        "fixtures/shardmaps/broken.toml",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(1), "{err}");
    assert!(!out.contains("s3cret") && !err.contains("s3cret"));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    for want in [
        "shard-map-secret-in-url",
        "shard-map-duplicate-id",
        "shard-map-unknown-node",
        "shard-map-gap",
        "shard-map-overlap",
    ] {
        assert!(rules.contains(&want), "{want} not in {rules:?}");
    }
}

#[test]
fn garbage_maps_get_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("m.toml");
    std::fs::write(&f, b"version = 1\n\xff\xfe[[nodes]]\n").unwrap();
    let (code, _, err) = dbkit(&["shard", "validate", "--map", f.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("not valid UTF-8 at line 2, column 1 (byte offset 12)"),
        "{err}"
    );
    std::fs::write(&f, "{\"version\": 1, \"shards\": [{\"id\": ").unwrap();
    let (code, _, err) = dbkit(&["shard", "validate", "--map", f.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("line 1"), "{err}");
}

#[test]
fn plan_balances_the_shop_map_and_writes_a_valid_next_version() {
    let dir = tempfile::tempdir().unwrap();
    let out_map = dir.path().join("next.toml");
    let (code, out, err) = dbkit(&[
        "shard",
        "plan",
        "--map",
        "fixtures/shardmaps/shop.toml",
        "--add",
        "shard-d:1",
        "--drain",
        "shard-b",
        "--write-map",
        out_map.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["balanced"], true, "{v:#}");
    assert_eq!(v["new_version"], 8);
    assert!(v["moved"].as_f64().unwrap() + 1.0 >= v["lower_bound"].as_f64().unwrap());
    let b = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node"] == "shard-b")
        .unwrap();
    assert_eq!(b["after"], 0.0);
    // The written map is valid, one version up, and has nothing on the drained node.
    let (code, out, err) = dbkit(&[
        "shard",
        "validate",
        "--map",
        out_map.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{err}{out}");
    let next: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(next["version"], 8);
    let b = next["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node"] == "shard-b")
        .unwrap();
    assert_eq!(b["shards"], 0);
}

#[test]
fn plan_refuses_an_invalid_map_and_bad_options() {
    let (code, _, err) = dbkit(&["shard", "plan", "--map", "fixtures/shardmaps/broken.toml"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("not valid") && !err.contains("s3cret"),
        "{err}"
    );
    let (code, _, err) = dbkit(&[
        "shard",
        "plan",
        "--map",
        "fixtures/shardmaps/shop.toml",
        "--drain",
        "nope",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no such node"), "{err}");
    let (code, _, err) = dbkit(&[
        "shard",
        "plan",
        "--map",
        "fixtures/shardmaps/shop.toml",
        "--add",
        "x:-1",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("positive"), "{err}");
}

#[test]
fn init_writes_a_first_map_that_plans_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.toml");
    let o = out.to_str().unwrap();
    let (code, _, err) = dbkit(&[
        "shard",
        "init",
        "--nodes",
        "a,b,c",
        "--shards",
        "64",
        "--tables",
        "customers=id,orders=customer_id",
        "--output",
        o,
    ]);
    assert_eq!(code, Some(0), "{err}");
    let m = dbkit::shard::ShardMap::load(&out).unwrap();
    assert_eq!((m.version, m.nodes.len(), m.shards.len()), (1, 3, 64));
    // The new map locates keys and plans an added node.
    let (code, stdout, err) = dbkit(&["shard", "locate", "--map", o, "42", "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(stdout.contains("\"shard\""), "{stdout}");
    let (code, _, err) = dbkit(&[
        "shard",
        "plan",
        "--map",
        o,
        "--strategy",
        "by-count",
        "--add",
        "d",
    ]);
    assert_eq!(code, Some(0), "{err}");
    // A second init on the same file is refused and the map is unchanged.
    let before = std::fs::read_to_string(&out).unwrap();
    let (code, _, err) = dbkit(&[
        "shard", "init", "--nodes", "x", "--shards", "2", "--output", o,
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("never overwrites"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), before);
    // A range map of integers needs the range to split.
    let r = dir.path().join("r.toml");
    let (code, _, err) = dbkit(&[
        "shard",
        "init",
        "--nodes",
        "a,b",
        "--shards",
        "4",
        "--method",
        "range",
        "--output",
        r.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--key-range"), "{err}");
}
