//! The playbooks shipped in `playbooks/`, built into the binary so that `dbkit playbook run
//! add-index-safely` works anywhere (the runs of a shipped playbook run by name are kept under
//! `./.dbkit/runs/`).

/// `(name, text)` of every shipped playbook.
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "add-index-safely",
        include_str!("../../playbooks/add-index-safely.toml"),
    ),
    (
        "partition-live-table",
        include_str!("../../playbooks/partition-live-table.toml"),
    ),
    (
        "partition-maintenance",
        include_str!("../../playbooks/partition-maintenance.toml"),
    ),
    (
        "rebalance-shards",
        include_str!("../../playbooks/rebalance-shards.toml"),
    ),
    (
        "release-check",
        include_str!("../../playbooks/release-check.toml"),
    ),
];

/// The text of the shipped playbook `name` (with or without `.toml`).
pub fn text(name: &str) -> Option<&'static str> {
    let name = name.strip_suffix(".toml").unwrap_or(name);
    SHIPPED.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_shipped_playbook_loads() {
        for (name, text) in super::SHIPPED {
            let pb = super::super::load::load(name, text.as_bytes())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(&pb.name, name);
            assert!(!pb.description.is_empty(), "{name}");
        }
    }
}
