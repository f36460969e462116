//! The rebalance planner: an ordered list of shard moves (and splits of shards too big for any
//! node) that brings every node within a threshold of its capacity-weighted target, keeps
//! colocated shards together, empties draining nodes, and moves as few bytes as possible.
//!
//! The unit of movement is a *shard group*: a shard covering every table, or the per-table
//! shards of one colocation group that hold the same key space. Each overfull node sheds the
//! smallest set of groups that covers its excess (one group just above the excess when there
//! is one, else the largest groups below it and a closing one); the shed groups go, largest
//! first, to the node with the least room that still takes them (best fit). Underfull nodes
//! then pull groups from the nodes furthest above target. The report sets the bytes moved
//! beside the lower bound and beside what a greedy most-loaded-to-least-loaded planner moves.

use super::map::{HashSlot, Method, NodeState, Shard, ShardMap};
use crate::finding::RuleId;
use crate::finding::{Finding, Location, Severity};
use serde::Serialize;
use std::collections::BTreeMap;

/// What a shard's weight is measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Bytes (shards of unknown size count as the mean known size).
    #[default]
    BySize,
    /// One per shard group.
    ByCount,
    /// The `load` figure (unknown counts as the mean).
    ByLoad,
}

/// Planner options.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// What to balance.
    pub strategy: Strategy,
    /// Allowed deviation from the target, as a fraction (0.1 = within 10%).
    pub threshold: f64,
    /// Nodes to empty (in addition to those marked draining in the map).
    pub drain: Vec<String>,
    /// Nodes to add (their state becomes `new`).
    pub add: Vec<super::map::Node>,
    /// Plan moves only, never splits.
    pub no_split: bool,
}

/// One shard group move.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Move {
    /// 1-based order.
    pub seq: usize,
    /// The shards moving together.
    pub shards: Vec<u64>,
    /// From node.
    pub from: String,
    /// To node.
    pub to: String,
    /// Bytes (known sizes).
    pub bytes: u64,
    /// The weight moved in the strategy's unit.
    pub weight: f64,
}

/// A planned split of a shard group too big for any node.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Split {
    /// The shards split.
    pub shards: Vec<u64>,
    /// The new shards' ids (one per half per shard).
    pub into: Vec<u64>,
    /// How: `hash modulus 8 remainder 3 -> modulus 16 remainders 3, 11` or a range midpoint.
    pub how: String,
    /// The halves as the split makes them (on the split shard's node), in `into`'s order.
    #[serde(skip)]
    pub halves: Vec<Shard>,
    /// The shards before the split (to undo a split the moves did not need).
    #[serde(skip)]
    originals: Vec<Shard>,
}

/// Per node, before and after.
#[derive(Debug, Clone, Serialize)]
pub struct NodeBalance {
    /// Node.
    pub node: String,
    /// Capacity weight (0 when draining).
    pub weight: f64,
    /// Capacity-weighted target.
    pub target: f64,
    /// Before.
    pub before: f64,
    /// After the plan.
    pub after: f64,
    /// After, as a deviation from target (0.05 = 5% above).
    pub deviation: f64,
}

/// A rebalance plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The strategy.
    pub strategy: Strategy,
    /// The threshold.
    pub threshold: f64,
    /// Splits, done before the moves.
    pub splits: Vec<Split>,
    /// The moves in order.
    pub moves: Vec<Move>,
    /// Weight moved (strategy unit).
    pub moved: f64,
    /// Lower bound on the weight any plan must move.
    pub lower_bound: f64,
    /// What a greedy most-loaded-to-least-loaded planner moves on the same map.
    pub greedy_moved: f64,
    /// The greedy planner's number of moves.
    pub greedy_moves: usize,
    /// Whether the greedy planner reached balance.
    pub greedy_balanced: bool,
    /// Whether every node ends within the threshold.
    pub balanced: bool,
    /// Per node.
    pub nodes: Vec<NodeBalance>,
    /// Why balance was not reached, when it was not.
    pub findings: Vec<Finding>,
    /// The map after the plan (version bumped).
    #[serde(skip)]
    pub new_map: ShardMap,
}

#[derive(Debug, Clone)]
struct Group {
    shards: Vec<usize>,
    weight: f64,
    bytes: u64,
    node: usize,
}

/// The shard groups of a map: indexes into `map.shards`, grouped by colocation and key space.
fn groups(map: &ShardMap, node_index: &BTreeMap<&str, usize>) -> Vec<Group> {
    let mut group_of_table: BTreeMap<&str, &str> = BTreeMap::new();
    for g in &map.colocation {
        for t in &g.tables {
            group_of_table.insert(t, &g.name);
        }
    }
    let mut by_key: BTreeMap<(String, String, String), Vec<usize>> = BTreeMap::new();
    for (i, s) in map.shards.iter().enumerate() {
        let colo = match s.table.as_deref() {
            None => "*".to_string(),
            Some(t) => group_of_table
                .get(t)
                .map_or_else(|| format!("table:{t}"), |g| format!("group:{g}")),
        };
        let slot = serde_json::to_string(&(&s.hash, &s.range, &s.keys)).unwrap_or_default();
        let slot = if colo == "*" || slot.is_empty() {
            format!("id:{}", s.id)
        } else {
            slot
        };
        by_key
            .entry((colo, slot, s.node.clone()))
            .or_default()
            .push(i);
    }
    by_key
        .into_iter()
        .filter_map(|((_, _, node), shards)| {
            let node = *node_index.get(node.as_str())?;
            Some(Group {
                bytes: shards.iter().filter_map(|&i| map.shards[i].bytes).sum(),
                shards,
                weight: 0.0,
                node,
            })
        })
        .collect()
}

fn weigh(map: &ShardMap, groups: &mut [Group], strategy: Strategy) {
    let field = |s: &Shard| match strategy {
        Strategy::BySize => s.bytes.map(|b| b as f64),
        Strategy::ByLoad => s.load,
        Strategy::ByCount => Some(0.0),
    };
    let known: Vec<f64> = map.shards.iter().filter_map(field).collect();
    let mean = if known.is_empty() {
        1.0
    } else {
        known.iter().sum::<f64>() / known.len() as f64
    };
    for g in groups {
        g.weight = match strategy {
            Strategy::ByCount => 1.0,
            _ => g
                .shards
                .iter()
                .map(|&i| field(&map.shards[i]).unwrap_or(mean))
                .sum(),
        };
    }
}

struct State {
    names: Vec<String>,
    weight: Vec<f64>,
    target: Vec<f64>,
    load: Vec<f64>,
    threshold: f64,
}

impl State {
    fn upper(&self, n: usize) -> f64 {
        self.target[n] * (1.0 + self.threshold)
    }
    fn lower(&self, n: usize) -> f64 {
        self.target[n] * (1.0 - self.threshold)
    }
    fn eps(&self) -> f64 {
        1e-9 * self.load.iter().sum::<f64>().max(1.0)
    }
    fn balanced(&self) -> bool {
        let e = self.eps();
        (0..self.load.len())
            .all(|n| self.load[n] <= self.upper(n) + e && self.load[n] >= self.lower(n) - e)
    }
    fn lower_bound(&self) -> f64 {
        let over: f64 = (0..self.load.len())
            .map(|n| (self.load[n] - self.upper(n)).max(0.0))
            .sum();
        let under: f64 = (0..self.load.len())
            .map(|n| (self.lower(n) - self.load[n]).max(0.0))
            .sum();
        over.max(under)
    }
}

/// Picks groups (`cands` sorted by weight descending) whose weights cover `need` with as little
/// extra as possible: first-fit decreasing into `need`, then the smallest group left that
/// closes the remainder.
fn cover(cands: &[(usize, f64)], need: f64) -> Vec<usize> {
    let mut picked = Vec::new();
    let mut taken = vec![false; cands.len()];
    let mut rest = need;
    for (i, &(g, w)) in cands.iter().enumerate() {
        if rest <= 0.0 {
            break;
        }
        if w <= rest {
            picked.push(g);
            taken[i] = true;
            rest -= w;
        }
    }
    if rest > 0.0 {
        let closing = (0..cands.len())
            .filter(|&i| !taken[i] && cands[i].1 >= rest)
            .min_by(|&a, &b| cands[a].1.total_cmp(&cands[b].1));
        if let Some(i) = closing {
            picked.push(cands[i].0);
        }
    }
    picked
}

/// Plans a rebalance of `map`.
pub fn plan(map: &ShardMap, opts: &PlanOptions) -> Plan {
    // Moves first: a split is planned only when moves alone cannot reach the threshold.
    let moves_only = plan_with(map, opts, false);
    if moves_only.balanced || opts.no_split {
        return moves_only;
    }
    plan_with(map, opts, true)
}

fn plan_with(map: &ShardMap, opts: &PlanOptions, may_split: bool) -> Plan {
    let mut map = map.clone();
    for node in &opts.add {
        if !map.nodes.iter().any(|n| n.name == node.name) {
            let mut node = node.clone();
            node.state = NodeState::New;
            map.nodes.push(node);
        }
    }
    for n in &mut map.nodes {
        if opts.drain.iter().any(|d| d == &n.name) {
            n.state = NodeState::Draining;
        }
    }
    let names: Vec<String> = map.nodes.iter().map(|n| n.name.clone()).collect();
    let node_index: BTreeMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let weight: Vec<f64> = map
        .nodes
        .iter()
        .map(|n| {
            if n.state == NodeState::Draining || n.weight.is_nan() || n.weight <= 0.0 {
                0.0
            } else {
                n.weight
            }
        })
        .collect();
    let mut findings = Vec::new();
    let mut gs = groups(&map, &node_index);
    weigh(&map, &mut gs, opts.strategy);
    let total_w: f64 = weight.iter().sum();
    let total: f64 = gs.iter().map(|g| g.weight).sum();
    let mut splits: Vec<Split> = Vec::new();
    if may_split && total_w > 0.0 && opts.strategy != Strategy::ByCount {
        let max_upper = weight.iter().cloned().fold(0.0, f64::max) / total_w
            * total
            * (1.0 + opts.threshold.max(0.0));
        split_oversized(&mut map, &mut gs, max_upper, &mut splits, &mut findings);
    }
    let mut st = State {
        target: weight
            .iter()
            .map(|w| {
                if total_w > 0.0 {
                    total * w / total_w
                } else {
                    0.0
                }
            })
            .collect(),
        load: vec![0.0; names.len()],
        names,
        weight,
        threshold: opts.threshold.max(0.0),
    };
    for g in &gs {
        st.load[g.node] += g.weight;
    }
    let before = st.load.clone();
    let lower_bound = st.lower_bound();
    let (greedy_moved, greedy_moves, greedy_balanced) = greedy(&st, &gs);
    let mut moves = Vec::new();
    if total_w == 0.0 {
        findings.push(finding(
            RuleId::ShardPlanNoCapacity,
            "every node is draining or has weight 0: there is nowhere to move shards".into(),
        ));
    } else {
        // Moves alone may not balance (a hot shard): then split the heaviest group where it
        // was, and plan again from there.
        let (load0, mut gs0) = (st.load.clone(), gs.clone());
        let mut next_id = map.shards.iter().map(|s| s.id).max().unwrap_or(0) + 1;
        for retry in 0..=RETRY_SPLITS {
            shed(&mut st, &mut gs, &mut moves);
            fill(&mut st, &mut gs, &mut moves);
            if st.balanced()
                || !may_split
                || retry == RETRY_SPLITS
                || opts.strategy == Strategy::ByCount
            {
                break;
            }
            let Some(heaviest) = (0..gs0.len())
                .max_by(|&a, &b| gs0[a].weight.total_cmp(&gs0[b].weight).then(b.cmp(&a)))
            else {
                break;
            };
            let (mut trial_map, mut trial_gs, mut trial_id) = (map.clone(), gs0.clone(), next_id);
            let Ok(split) = split_group(&mut trial_map, &mut trial_gs, heaviest, &mut trial_id)
            else {
                break;
            };
            splits.push(split);
            (map, gs0, next_id) = (trial_map, trial_gs, trial_id);
            st.load = load0.clone();
            gs = gs0.clone();
            moves.clear();
        }
    }
    let moves = collapse(moves);
    let balanced = st.balanced();
    if !balanced && total_w > 0.0 {
        findings.push(finding(RuleId::ShardPlanUnbalanced, format!(
            "no plan brings every node within {:.0}% of its target with these shard sizes; the closest one is shown",
            st.threshold * 100.0)));
    }
    // The new map.
    for g in &gs {
        for &i in &g.shards {
            map.shards[i].node = st.names[g.node].clone();
        }
    }
    let moved_ids: std::collections::BTreeSet<u64> = moves
        .iter()
        .flat_map(|m| m.shards.iter().map(|&i| map.shards[i as usize].id))
        .collect();
    let moves: Vec<Move> = moves
        .into_iter()
        .map(|mut m| {
            m.shards = m
                .shards
                .iter()
                .map(|&i| map.shards[i as usize].id)
                .collect();
            m
        })
        .collect();
    undo_unneeded_splits(&mut map, &mut splits, &moved_ids);
    map.version += 1;
    let moved = moves.iter().map(|m: &Move| m.weight).sum();
    let moves = moves
        .into_iter()
        .enumerate()
        .map(|(i, mut m)| {
            m.seq = i + 1;
            m
        })
        .collect();
    let nodes = (0..st.names.len())
        .map(|n| NodeBalance {
            node: st.names[n].clone(),
            weight: st.weight[n],
            target: st.target[n],
            before: before[n],
            after: st.load[n],
            deviation: if st.target[n] > 0.0 {
                st.load[n] / st.target[n] - 1.0
            } else if st.load[n] > 0.0 {
                f64::INFINITY
            } else {
                0.0
            },
        })
        .collect();
    Plan {
        strategy: opts.strategy,
        threshold: st.threshold,
        splits,
        moves,
        moved,
        lower_bound,
        greedy_moved,
        greedy_moves,
        greedy_balanced,
        balanced,
        nodes,
        findings,
        new_map: map,
    }
}

fn finding(rule: RuleId, message: String) -> Finding {
    Finding {
        rule,
        severity: Severity::Warning,
        message,
        location: Location::default(),
        evidence: serde_json::Value::Null,
        suggestion: None,
    }
}

/// One move per group: a group moved more than once goes straight from where it was to where
/// it ends (at its first move's place in the order), and not at all when it ends where it was.
fn collapse(moves: Vec<Move>) -> Vec<Move> {
    let mut last: std::collections::HashMap<&[u64], usize> = std::collections::HashMap::new();
    for (i, m) in moves.iter().enumerate() {
        last.insert(&m.shards, i);
    }
    let mut out: Vec<Move> = Vec::with_capacity(moves.len());
    let mut seen = std::collections::HashSet::new();
    for m in &moves {
        if !seen.insert(m.shards.as_slice()) {
            continue;
        }
        let end = &moves[last[m.shards.as_slice()]];
        if end.to != m.from {
            out.push(Move {
                to: end.to.clone(),
                ..m.clone()
            });
        }
    }
    out
}

fn record(st: &mut State, gs: &mut [Group], gi: usize, to: usize, moves: &mut Vec<Move>) {
    let g = &mut gs[gi];
    st.load[g.node] -= g.weight;
    st.load[to] += g.weight;
    moves.push(Move {
        seq: 0,
        // Indexes for now; turned into ids at the end.
        shards: g.shards.iter().map(|&i| i as u64).collect(),
        from: st.names[g.node].clone(),
        to: st.names[to].clone(),
        bytes: g.bytes,
        weight: g.weight,
    });
    g.node = to;
}

/// The receiving node for a group of weight `w`, in order of preference: a node below its
/// lower limit whose deficit the group fits into (the smallest such deficit: best fit); a node
/// below its lower limit with room for it (the largest deficit); another node with room (best
/// fit); the node with the most room.
fn receiver(st: &State, w: f64, exclude: usize) -> Option<usize> {
    let e = st.eps();
    let mut tiers: [Option<(f64, usize)>; 3] = [None, None, None];
    let mut most: Option<(f64, usize)> = None;
    let mut offer = |tier: usize, key: f64, n: usize| {
        if tiers[tier].is_none_or(|(k, _)| key < k) {
            tiers[tier] = Some((key, n));
        }
    };
    for n in 0..st.load.len() {
        if n == exclude || st.weight[n] == 0.0 {
            continue;
        }
        let room = st.upper(n) - st.load[n];
        let deficit = st.lower(n) - st.load[n];
        if deficit > e && deficit + e >= w {
            offer(0, deficit, n);
        } else if deficit > e && room + e >= w {
            offer(1, -deficit, n);
        } else if room + e >= w {
            offer(2, room, n);
        }
        if most.is_none_or(|(r, _)| room > r) {
            most = Some((room, n));
        }
    }
    tiers
        .iter()
        .flatten()
        .next()
        .copied()
        .or(most)
        .map(|(_, n)| n)
}

/// Every node above its upper limit (draining nodes: above zero) sheds the groups covering its
/// excess.
fn shed(st: &mut State, gs: &mut [Group], moves: &mut Vec<Move>) {
    let mut on: Vec<Vec<usize>> = vec![Vec::new(); st.load.len()];
    for (i, g) in gs.iter().enumerate() {
        on[g.node].push(i);
    }
    let mut shedding: Vec<usize> = Vec::new();
    for (n, held) in on.iter().enumerate() {
        let excess = st.load[n] - st.upper(n);
        if excess <= st.eps() {
            continue;
        }
        let mut cands: Vec<(usize, f64)> = held.iter().map(|&i| (i, gs[i].weight)).collect();
        cands.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let picked = if st.weight[n] == 0.0 {
            cands.iter().map(|c| c.0).collect()
        } else {
            cover(&cands, excess)
        };
        shedding.extend(picked);
    }
    shedding.sort_by(|&a, &b| gs[b].weight.total_cmp(&gs[a].weight).then(a.cmp(&b)));
    for gi in shedding {
        let (from, w) = (gs[gi].node, gs[gi].weight);
        if let Some(to) = receiver(st, w, from) {
            // A group that fits nowhere moves only off a draining node, or when the receiver
            // ends up less loaded (relative to target) than the donor was: never a swap of
            // one overload for another.
            let fits = st.upper(to) - st.load[to] + st.eps() >= w;
            let relieves = st.weight[from] == 0.0
                || (st.load[to] + w) / st.target[to] < st.load[from] / st.target[from];
            if fits || relieves {
                record(st, gs, gi, to, moves);
            }
        }
    }
}

/// Nodes below their lower limit pull groups from the nodes furthest above target, as long as
/// the donor stays at or above its own lower limit.
fn fill(st: &mut State, gs: &mut [Group], moves: &mut Vec<Move>) {
    let e = st.eps();
    for _round in 0..gs.len().min(100_000) {
        let Some(n) = (0..st.load.len())
            .filter(|&n| st.weight[n] > 0.0 && st.load[n] < st.lower(n) - e)
            .min_by(|&a, &b| (st.load[a] / st.target[a]).total_cmp(&(st.load[b] / st.target[b])))
        else {
            return;
        };
        let need = st.lower(n) - st.load[n];
        let room = st.upper(n) - st.load[n];
        // The group closest to `need` without overfilling n, from a donor that stays above its
        // lower limit; prefer donors furthest above target.
        let mut best: Option<(f64, usize)> = None;
        for (gi, g) in gs.iter().enumerate() {
            let d = g.node;
            if d == n || g.weight > room + e || st.load[d] - g.weight < st.lower(d) - e {
                continue;
            }
            let score = (g.weight - need).abs() - (st.load[d] - st.target[d]) * 1e-6;
            if best.is_none_or(|(s, _)| score < s) {
                best = Some((score, gi));
            }
        }
        let Some((_, gi)) = best else { return };
        record(st, gs, gi, n, moves);
    }
}

/// The greedy baseline: repeatedly move the largest group that fits from the most loaded node
/// (relative to weight) to the least loaded, while that narrows the gap.
fn greedy(st: &State, gs: &[Group]) -> (f64, usize, bool) {
    let mut load = st.load.clone();
    let mut on: Vec<Vec<f64>> = vec![Vec::new(); load.len()];
    for g in gs {
        on[g.node].push(g.weight);
    }
    for v in &mut on {
        v.sort_by(|a, b| b.total_cmp(a));
    }
    let util = |n: usize, l: &[f64]| {
        if st.weight[n] == 0.0 {
            if l[n] > 0.0 {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            }
        } else {
            l[n] / st.weight[n]
        }
    };
    let (mut moved, mut count) = (0.0, 0);
    let probe = State {
        names: Vec::new(),
        weight: st.weight.clone(),
        target: st.target.clone(),
        load: load.clone(),
        threshold: st.threshold,
    };
    let e = probe.eps();
    for _ in 0..gs.len() * 2 {
        let from = (0..load.len())
            .max_by(|&a, &b| util(a, &load).total_cmp(&util(b, &load)))
            .unwrap_or(0);
        let to = (0..load.len())
            .filter(|&n| st.weight[n] > 0.0)
            .min_by(|&a, &b| util(a, &load).total_cmp(&util(b, &load)));
        let Some(to) = to else { break };
        if from == to
            || (load[from] <= probe.upper(from) + e
                && (0..load.len()).all(|n| st.weight[n] == 0.0 || load[n] >= probe.lower(n) - e))
        {
            break;
        }
        // The largest group on `from` whose move leaves `to` no more loaded than `from` was.
        let pick = on[from].iter().position(|&w| {
            let (lf, lt) = (load[from] - w, load[to] + w);
            st.weight[from] == 0.0 || lt / st.weight[to] < load[from] / st.weight[from] && lf >= 0.0
        });
        let Some(i) = pick else { break };
        let w = on[from].remove(i);
        load[from] -= w;
        load[to] += w;
        let pos = on[to].partition_point(|&x| x > w);
        on[to].insert(pos, w);
        moved += w;
        count += 1;
    }
    let done = State { load, ..probe };
    (moved, count, done.balanced())
}

/// Splits group `i` into halves (hash: double the modulus; integer ranges: the midpoint), the
/// new shards taking ids from `next_id`. `Err` with the group's shard ids when it cannot be
/// split automatically (list or ring maps, ranges without a middle: open integer ranges,
/// non-ASCII text bounds, adjacent keys).
fn split_group(
    map: &mut ShardMap,
    gs: &mut Vec<Group>,
    i: usize,
    next_id: &mut u64,
) -> Result<Split, Vec<u64>> {
    let old: Vec<u64> = gs[i].shards.iter().map(|&si| map.shards[si].id).collect();
    let mut pairs: Vec<(usize, Shard, Shard)> = Vec::new();
    let mut hows = Vec::new();
    let mut ok = true;
    for &si in &gs[i].shards {
        let s = &map.shards[si];
        let halved = |s: &Shard| Shard {
            bytes: s.bytes.map(|b| b / 2),
            rows: s.rows.map(|r| r / 2),
            load: s.load.map(|l| l / 2.0),
            ..s.clone()
        };
        let (mut a, mut b) = (halved(s), halved(s));
        match (map.sharding.method, s.hash, &s.range) {
            (Method::Hash, Some(HashSlot { modulus, remainder }), _) => {
                a.hash = Some(HashSlot {
                    modulus: modulus * 2,
                    remainder,
                });
                b.hash = Some(HashSlot {
                    modulus: modulus * 2,
                    remainder: remainder + modulus,
                });
                hows.push(format!("shard {}: hash modulus {modulus} remainder {remainder} -> modulus {} remainders {remainder}, {}", s.id, modulus * 2, remainder + modulus));
            }
            (Method::Range, _, Some(r)) => {
                let mid = super::midpoint::midpoint(
                    &map.sharding.key_type,
                    r.from.as_deref(),
                    r.to.as_deref(),
                );
                let Some(mid) = mid else {
                    ok = false;
                    break;
                };
                a.range = Some(super::map::KeyRange {
                    from: r.from.clone(),
                    to: Some(mid.clone()),
                });
                b.range = Some(super::map::KeyRange {
                    from: Some(mid.clone()),
                    to: r.to.clone(),
                });
                hows.push(format!(
                    "shard {}: range split at {mid:?} (the middle of the key range; sizes halved as an estimate)",
                    s.id
                ));
            }
            _ => {
                ok = false;
                break;
            }
        }
        a.id = *next_id;
        b.id = *next_id + 1;
        *next_id += 2;
        pairs.push((si, a, b));
    }
    if !ok {
        return Err(old);
    }
    let originals = gs[i]
        .shards
        .iter()
        .map(|&si| map.shards[si].clone())
        .collect();
    let mut halves = (Vec::new(), Vec::new());
    let mut into = Vec::new();
    let mut made = Vec::new();
    for (si, a, b) in pairs {
        into.push(a.id);
        into.push(b.id);
        made.push(a.clone());
        made.push(b.clone());
        map.shards[si] = a;
        map.shards.push(b);
        halves.0.push(si);
        halves.1.push(map.shards.len() - 1);
    }
    let split = Split {
        shards: old,
        into,
        how: hows.join("; "),
        halves: made,
        originals,
    };
    let node = gs[i].node;
    let w = gs[i].weight / 2.0;
    let b = gs[i].bytes / 2;
    gs[i] = Group {
        shards: halves.0,
        weight: w,
        bytes: b,
        node,
    };
    gs.push(Group {
        shards: halves.1,
        weight: w,
        bytes: b,
        node,
    });
    Ok(split)
}

/// Splits shard groups heavier than any node's upper limit until they fit.
fn split_oversized(
    map: &mut ShardMap,
    gs: &mut Vec<Group>,
    max_upper: f64,
    splits: &mut Vec<Split>,
    findings: &mut Vec<Finding>,
) {
    let mut next_id = map.shards.iter().map(|s| s.id).max().unwrap_or(0) + 1;
    let mut i = 0;
    while i < gs.len() {
        if gs[i].weight <= max_upper || splits.len() >= MAX_SPLITS {
            i += 1;
            continue;
        }
        match split_group(map, gs, i, &mut next_id) {
            Ok(split) => splits.push(split),
            Err(ids) => {
                findings.push(finding(RuleId::ShardPlanSplitNeeded, format!(
                    "shard group {ids:?} (weight {:.0}) is larger than any node can hold within the threshold and cannot be split automatically (pick a split point)",
                    gs[i].weight)));
                i += 1;
            }
        }
    }
}

/// Undoes, latest first, the splits whose halves were neither moved nor split again: they did
/// not help the plan.
fn undo_unneeded_splits(
    map: &mut ShardMap,
    splits: &mut Vec<Split>,
    moved: &std::collections::BTreeSet<u64>,
) {
    let mut i = splits.len();
    while i > 0 {
        i -= 1;
        let sp = &splits[i];
        let present = |id: &u64| map.shards.iter().any(|s| s.id == *id);
        if sp.into.iter().any(|id| moved.contains(id) || !present(id)) {
            continue;
        }
        let sp = splits.remove(i);
        for (k, original) in sp.originals.into_iter().enumerate() {
            let (a, b) = (sp.into[2 * k], sp.into[2 * k + 1]);
            if let Some(pos) = map.shards.iter().position(|s| s.id == a) {
                let node = map.shards[pos].node.clone();
                map.shards[pos] = Shard { node, ..original };
            }
            map.shards.retain(|s| s.id != b);
        }
    }
}

/// At most this many splits per plan.
const MAX_SPLITS: usize = 1000;

/// When moves alone cannot balance, split the heaviest group and plan again, this many times.
const RETRY_SPLITS: usize = 8;

/// A deterministic random shard map for tests and benchmarks: `nodes` nodes (a tenth of them
/// with weight 2), `shards` hash shards with sizes spread over two orders of magnitude,
/// placed unevenly.
pub fn random_map(
    seed: u64,
    nodes: usize,
    shards: usize,
) -> Result<ShardMap, crate::mapfile::MapError> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut text = String::from("version = 1\n[sharding]\nmethod = \"hash\"\n");
    for n in 0..nodes {
        let w = if n % 10 == 9 { 2 } else { 1 };
        text.push_str(&format!("[[nodes]]\nname = \"n{n}\"\nweight = {w}\n"));
    }
    let modulus = shards as u64;
    for s in 0..shards {
        // Skewed placement: low-numbered nodes get more.
        let r = next();
        let node = ((r % nodes as u64) * (r % nodes as u64) / nodes as u64) as usize;
        let bytes = 1_000_000 + next() % 100_000_000;
        text.push_str(&format!(
            "[[shards]]\nid = {s}\nnode = \"n{node}\"\nhash = {{ modulus = {modulus}, remainder = {s} }}\nbytes = {bytes}\n"
        ));
    }
    ShardMap::parse(&text, "random")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(threshold: f64) -> PlanOptions {
        PlanOptions {
            threshold,
            ..Default::default()
        }
    }

    fn apply(map: &ShardMap, plan: &Plan) -> BTreeMap<String, f64> {
        let mut load = BTreeMap::new();
        for n in &map.nodes {
            load.insert(n.name.clone(), 0.0);
        }
        for s in &plan.new_map.shards {
            *load.entry(s.node.clone()).or_default() += s.bytes.unwrap_or(0) as f64;
        }
        load
    }

    #[test]
    fn random_maps_balance_near_the_lower_bound_and_no_worse_than_greedy() {
        for seed in 1..=20 {
            let map = random_map(seed, 12, 400).unwrap();
            let p = plan(&map, &opts(0.1));
            assert!(p.balanced, "seed {seed}: {:?}", p.nodes);
            assert!(p.moved + 1.0 >= p.lower_bound, "seed {seed}");
            assert!(
                p.moved <= p.lower_bound * 1.05 + 1.0,
                "seed {seed}: moved {} bound {}",
                p.moved,
                p.lower_bound
            );
            assert!(
                p.moved <= p.greedy_moved * 1.02 || !p.greedy_balanced,
                "seed {seed}: {} vs greedy {}",
                p.moved,
                p.greedy_moved
            );
            // The new map's loads are what the plan says.
            let after = apply(&map, &p);
            for n in &p.nodes {
                assert!((after[&n.node] - n.after).abs() < 1.0, "{}", n.node);
                assert!(n.after <= n.target * 1.1 + 1.0 && n.after >= n.target * 0.9 - 1.0);
            }
            assert_eq!(p.new_map.version, map.version + 1);
            assert!(p.new_map.validate().is_empty());
        }
    }

    #[test]
    fn adding_a_node_moves_shards_and_splits_only_when_moves_cannot_balance() {
        let mut text = String::from("version = 1\n[sharding]\nmethod = \"hash\"\n[[nodes]]\nname = \"a\"\n[[nodes]]\nname = \"b\"\n");
        for id in 0..6 {
            let node = if id < 3 { "a" } else { "b" };
            text.push_str(&format!("[[shards]]\nid = {id}\nnode = \"{node}\"\nhash = {{ modulus = 6, remainder = {id} }}\nbytes = 1000\n"));
        }
        let map = ShardMap::parse(&text, "m.toml").unwrap();
        let c = crate::shard::map::Node {
            name: "c".into(),
            url: Some("postgres://app@c/shop".into()),
            url_env: None,
            weight: 1.0,
            zone: Some("z3".into()),
            state: NodeState::Active,
        };
        let o = PlanOptions {
            threshold: 0.1,
            add: vec![c],
            ..Default::default()
        };
        let p = plan(&map, &o);
        assert!(p.balanced && p.splits.is_empty(), "{p:?}");
        assert_eq!(p.moves.len(), 2, "{:?}", p.moves);
        let added = p.new_map.nodes.iter().find(|n| n.name == "c").unwrap();
        assert_eq!(added.zone.as_deref(), Some("z3"));
        assert_eq!(added.state, NodeState::New);
        // A hot shard cannot be balanced by moves: a split, unless --no-split.
        let hot = text.replacen("bytes = 1000", "bytes = 9000", 1);
        let map = ShardMap::parse(&hot, "m.toml").unwrap();
        assert!(!plan(&map, &o).splits.is_empty());
        let p = plan(
            &map,
            &PlanOptions {
                no_split: true,
                ..o
            },
        );
        assert!(p.splits.is_empty() && !p.balanced);
    }

    #[test]
    fn draining_empties_the_node_and_adding_fills_the_new_one() {
        let map = random_map(7, 6, 300).unwrap();
        let p = plan(
            &map,
            &PlanOptions {
                threshold: 0.1,
                drain: vec!["n0".into()],
                add: vec![crate::shard::map::Node {
                    name: "n9".into(),
                    url: None,
                    url_env: None,
                    weight: 1.0,
                    zone: None,
                    state: NodeState::New,
                }],
                ..Default::default()
            },
        );
        let n0 = p.nodes.iter().find(|n| n.node == "n0").unwrap();
        assert_eq!(n0.after, 0.0);
        assert!(p.new_map.shards.iter().all(|s| s.node != "n0"));
        let n9 = p.nodes.iter().find(|n| n.node == "n9").unwrap();
        assert!(n9.after >= n9.target * 0.9, "{n9:?}");
        assert!(p.balanced);
    }

    #[test]
    fn colocated_shards_move_together() {
        let mut text = String::from("version = 1\n[tables]\na = \"k\"\nb = \"k\"\n[[colocation]]\nname = \"g\"\ntables = [\"a\", \"b\"]\n[[nodes]]\nname = \"x\"\n[[nodes]]\nname = \"y\"\n");
        for r in 0..8 {
            for (t, id) in [("a", r), ("b", 100 + r)] {
                text.push_str(&format!("[[shards]]\nid = {id}\ntable = \"{t}\"\nnode = \"x\"\nhash = {{ modulus = 8, remainder = {r} }}\nbytes = {}\n", 1000 * (r + 1)));
            }
        }
        let map = ShardMap::parse(&text, "c").unwrap();
        let p = plan(&map, &opts(0.1));
        assert!(!p.moves.is_empty());
        for m in &p.moves {
            assert_eq!(m.shards.len(), 2, "{m:?}");
            assert_eq!(m.shards[1], m.shards[0] + 100);
        }
        assert!(
            p.new_map.validate().is_empty(),
            "{:?}",
            p.new_map.validate()
        );
    }

    #[test]
    fn a_shard_too_big_for_any_node_is_split() {
        let map = ShardMap::parse("version = 1\n[[nodes]]\nname = \"x\"\n[[nodes]]\nname = \"y\"\n[[shards]]\nid = 0\nnode = \"x\"\nhash = { modulus = 2, remainder = 0 }\nbytes = 4000\n[[shards]]\nid = 1\nnode = \"y\"\nhash = { modulus = 2, remainder = 1 }\nbytes = 400\n", "s").unwrap();
        let p = plan(&map, &opts(0.1));
        assert_eq!(p.splits.len(), 1, "{p:?}");
        assert_eq!(p.splits[0].shards, vec![0]);
        assert!(p.splits[0].how.contains("modulus 4 remainders 0, 2"));
        assert!(p.balanced, "{:?}", p.nodes);
        assert!(
            p.new_map.validate().is_empty(),
            "{:?}",
            p.new_map.validate()
        );
    }

    #[test]
    fn text_and_uuid_ranges_split_at_their_middle() {
        for (key_type, bounds) in [
            ("text", ["\"a\"", "\"m\"", "\"t\""]),
            (
                "uuid",
                [
                    "\"40000000-0000-0000-0000-000000000000\"",
                    "\"80000000-0000-0000-0000-000000000000\"",
                    "\"c0000000-0000-0000-0000-000000000000\"",
                ],
            ),
        ] {
            let text = format!(
                "version = 1\n[sharding]\nmethod = \"range\"\nkey_type = \"{key_type}\"\n\
                 [[nodes]]\nname = \"x\"\n[[nodes]]\nname = \"y\"\n\
                 [[shards]]\nid = 0\nnode = \"x\"\nrange = {{ to = {} }}\nbytes = 100\n\
                 [[shards]]\nid = 1\nnode = \"x\"\nrange = {{ from = {}, to = {} }}\nbytes = 5000\n\
                 [[shards]]\nid = 2\nnode = \"y\"\nrange = {{ from = {}, to = {} }}\nbytes = 100\n\
                 [[shards]]\nid = 3\nnode = \"y\"\nrange = {{ from = {} }}\nbytes = 100\n",
                bounds[0], bounds[0], bounds[1], bounds[1], bounds[2], bounds[2]
            );
            let map = ShardMap::parse(&text, "s").unwrap();
            assert!(map.validate().is_empty(), "{:?}", map.validate());
            let p = plan(&map, &opts(0.1));
            assert!(!p.splits.is_empty(), "{key_type}: {:?}", p.findings);
            assert_eq!(p.splits[0].shards, vec![1]);
            assert!(
                p.splits[0].how.contains("range split at"),
                "{}",
                p.splits[0].how
            );
            assert!(
                p.new_map.validate().is_empty(),
                "{key_type}: {:?}",
                p.new_map.validate()
            );
            assert!(p
                .findings
                .iter()
                .all(|f| f.rule != "shard-plan-split-needed"));
        }
    }

    #[test]
    fn an_unsplittable_hot_shard_is_not_moved_for_nothing() {
        let map = ShardMap::parse("version = 1\n[sharding]\nmethod = \"list\"\nkey_type = \"text\"\n[[nodes]]\nname = \"x\"\n[[nodes]]\nname = \"y\"\n[[shards]]\nid = 0\nnode = \"x\"\nkeys = [\"a\"]\nbytes = 100\n[[shards]]\nid = 1\nnode = \"x\"\nkeys = [\"b\"]\nbytes = 5000\n[[shards]]\nid = 2\nnode = \"y\"\nkeys = [\"c\"]\nbytes = 100\n", "s").unwrap();
        let p = plan(&map, &opts(0.1));
        assert!(!p.balanced);
        assert!(p.moves.iter().all(|m| m.shards != vec![1]), "{:?}", p.moves);
        let mut seen = std::collections::HashSet::new();
        assert!(
            p.moves.iter().all(|m| seen.insert(m.shards.clone())),
            "{:?}",
            p.moves
        );
        assert!(p
            .findings
            .iter()
            .any(|f| f.rule == "shard-plan-split-needed"));
    }

    #[test]
    fn plans_are_deterministic() {
        let map = random_map(3, 10, 500).unwrap();
        let a = plan(&map, &opts(0.05));
        let b = plan(&map, &opts(0.05));
        assert_eq!(a.moves, b.moves);
    }
}
