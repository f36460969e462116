//! Choosing indexes from candidates: greedy by weighted saving under budgets, with the
//! candidates of a table re-evaluated after each pick on it (a chosen index may serve their
//! queries already). Pure: the [`Selector`] asks for evaluations and the caller supplies them —
//! `ops::index` plans the workload with HypoPG hypothetical indexes, the tests use a table of
//! costs — so the choice itself is tested without a server.

use super::Candidate;
use std::collections::HashMap;

/// Budgets and thresholds of a selection.
#[derive(Debug, Clone)]
pub struct AdviseOptions {
    /// Indexes recommended at most.
    pub max_indexes: usize,
    /// Per table at most.
    pub max_per_table: usize,
    /// Total size of the recommended indexes at most, bytes.
    pub max_size_bytes: Option<i64>,
    /// A candidate must cut the workload's weighted cost by at least this share.
    pub min_saving: f64,
}

impl Default for AdviseOptions {
    fn default() -> Self {
        AdviseOptions {
            max_indexes: 10,
            max_per_table: 3,
            max_size_bytes: None,
            min_saving: 0.005,
        }
    }
}

/// What planning the workload with one more (hypothetical) index gave, on top of the indexes
/// already chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// The index could not be created; why.
    Failed(String),
    /// Its estimated size and, per query planned with it, `(query, cost, whether the plan used
    /// the index)`.
    Planned {
        /// Estimated size, bytes.
        size_bytes: i64,
        /// `(query index, total cost, uses the index)`.
        plans: Vec<(usize, f64, bool)>,
    },
}

/// A candidate's evaluation under the current choice.
#[derive(Debug, Clone, Default)]
struct Evaluation {
    saving: f64,
    gains: Vec<(usize, f64)>,
    size_bytes: i64,
}

/// A chosen index.
#[derive(Debug, Clone)]
pub struct Chosen {
    /// The candidate.
    pub candidate: Candidate,
    /// Weighted saving (cost × calls) over the state before it was chosen, after the write
    /// discount.
    pub saving: f64,
    /// `(query, cost with it)` per query it helps.
    pub gains: Vec<(usize, f64)>,
    /// Estimated size, bytes.
    pub size_bytes: i64,
}

/// The greedy selection, driven by its caller: while [`Selector::wants_more`], evaluate every
/// [`Selector::pending`] candidate and give the result to [`Selector::observe`], then
/// [`Selector::pick`] (which the caller mirrors, e.g. by keeping the hypothetical index).
pub struct Selector {
    remaining: Vec<(Candidate, String)>,
    calls: Vec<u64>,
    current: Vec<Option<f64>>,
    cost_before: f64,
    write_ratio: HashMap<String, f64>,
    opts: AdviseOptions,
    cache: HashMap<String, Evaluation>,
    per_table: HashMap<String, usize>,
    total_size: i64,
    chosen: usize,
    rejected: Vec<(String, String)>,
}

/// The table a candidate is on, as `schema.table`.
pub fn table_key(c: &Candidate) -> String {
    format!("{}.{}", c.spec.schema, c.spec.table)
}

impl Selector {
    /// A selection over `candidates` for a workload whose queries run `calls` times and cost
    /// `baseline` now (`None`: not plannable, never counted). `write_ratio` is each table's
    /// share of writes among its reads and writes: past one half, savings are discounted (up
    /// to 45%) because every write also updates the index.
    pub fn new(
        candidates: Vec<Candidate>,
        calls: Vec<u64>,
        baseline: Vec<Option<f64>>,
        write_ratio: HashMap<String, f64>,
        opts: AdviseOptions,
    ) -> Selector {
        let cost_before = weighted(&baseline, &calls);
        Selector {
            remaining: candidates
                .into_iter()
                .map(|c| {
                    let t = table_key(&c);
                    (c, t)
                })
                .collect(),
            calls,
            current: baseline,
            cost_before,
            write_ratio,
            opts,
            cache: HashMap::new(),
            per_table: HashMap::new(),
            total_size: 0,
            chosen: 0,
            rejected: Vec::new(),
        }
    }

    /// Whether another pick may happen (budget left and candidates left).
    pub fn wants_more(&self) -> bool {
        self.chosen < self.opts.max_indexes && !self.remaining.is_empty()
    }

    /// The candidates to evaluate before the next pick (indexes for [`Selector::candidate`]).
    pub fn pending(&self) -> Vec<usize> {
        (0..self.remaining.len())
            .filter(|&i| {
                !self
                    .cache
                    .contains_key(&self.remaining[i].0.spec.create_sql())
            })
            .collect()
    }

    /// A remaining candidate.
    pub fn candidate(&self, i: usize) -> &Candidate {
        &self.remaining[i].0
    }

    /// The current cost of query `q` (`None`: not counted).
    pub fn current_cost(&self, q: usize) -> Option<f64> {
        self.current.get(q).copied().flatten()
    }

    /// Record the evaluation of candidate `i`.
    pub fn observe(&mut self, i: usize, obs: Observation) {
        let (c, table) = &self.remaining[i];
        let key = c.spec.create_sql();
        let eval = match obs {
            Observation::Failed(why) => {
                self.rejected
                    .push((key.clone(), format!("HypoPG could not create it: {why}")));
                Evaluation::default()
            }
            Observation::Planned { size_bytes, plans } => {
                let mut saving = 0.0;
                let mut gains = Vec::new();
                for (q, cost, used) in plans {
                    let Some(cur) = self.current_cost(q) else {
                        continue;
                    };
                    if used && cost < cur {
                        saving += (cur - cost) * self.calls[q] as f64;
                        gains.push((q, cost));
                    }
                }
                let ratio = self.write_ratio.get(table).copied().unwrap_or(0.0);
                if ratio > 0.5 {
                    saving *= 1.0 - ratio.min(0.9) * 0.5;
                }
                Evaluation {
                    saving,
                    gains,
                    size_bytes,
                }
            }
        };
        self.cache.insert(key, eval);
    }

    /// Choose the evaluated candidate with the largest saving that fits the budgets, or `None`
    /// when none saves enough (at least `min_saving` of the workload's weighted cost).
    pub fn pick(&mut self) -> Option<Chosen> {
        let mut best: Option<(usize, f64)> = None;
        for (i, (c, table)) in self.remaining.iter().enumerate() {
            let Some(e) = self.cache.get(&c.spec.create_sql()) else {
                continue;
            };
            let fits = self.per_table.get(table).copied().unwrap_or(0) < self.opts.max_per_table
                && self
                    .opts
                    .max_size_bytes
                    .is_none_or(|m| self.total_size + e.size_bytes <= m);
            if fits && e.saving > best.map_or(0.0, |b| b.1) {
                best = Some((i, e.saving));
            }
        }
        let (i, saving) = best?;
        if saving < self.cost_before * self.opts.min_saving {
            return None;
        }
        let (candidate, table) = self.remaining.remove(i);
        let e = self
            .cache
            .remove(&candidate.spec.create_sql())
            .unwrap_or_default();
        *self.per_table.entry(table.clone()).or_insert(0) += 1;
        self.total_size += e.size_bytes;
        for &(q, cost) in &e.gains {
            self.current[q] = Some(cost);
        }
        // The candidates of this table are evaluated again against the new state.
        let stale: Vec<String> = self
            .remaining
            .iter()
            .filter(|(_, t)| *t == table)
            .map(|(c, _)| c.spec.create_sql())
            .collect();
        for k in stale {
            self.cache.remove(&k);
        }
        self.chosen += 1;
        Some(Chosen {
            candidate,
            saving,
            gains: e.gains,
            size_bytes: e.size_bytes,
        })
    }

    /// The workload's weighted cost before any pick.
    pub fn cost_before(&self) -> f64 {
        self.cost_before
    }

    /// The end: the weighted cost with the chosen indexes, each query's cost, and the
    /// candidates not chosen with why.
    pub fn finish(mut self) -> (f64, Vec<Option<f64>>, Vec<(String, String)>) {
        for (c, _) in &self.remaining {
            let key = c.spec.create_sql();
            let reason = match self.cache.get(&key) {
                Some(e) if e.saving <= 0.0 => "no query's plan used it at a lower cost".to_string(),
                Some(e) => format!(
                    "a chosen index already serves its queries better (remaining saving {:.0})",
                    e.saving
                ),
                None => "budget reached".to_string(),
            };
            if !self.rejected.iter().any(|(d, _)| *d == key) {
                self.rejected.push((key, reason));
            }
        }
        (
            weighted(&self.current, &self.calls),
            self.current,
            self.rejected,
        )
    }
}

/// Σ cost × calls over the counted queries.
fn weighted(costs: &[Option<f64>], calls: &[u64]) -> f64 {
    costs
        .iter()
        .zip(calls)
        .map(|(c, n)| c.unwrap_or(0.0) * *n as f64)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advise::CandidateKind;
    use crate::ddl::index::{IndexSpec, Key};

    fn keys_text(c: &Candidate) -> String {
        c.spec
            .keys
            .iter()
            .map(|k| match &k.key {
                Key::Column(c) | Key::Expr(c) => c.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn cand(table: &str, cols: &[&str]) -> Candidate {
        Candidate {
            spec: IndexSpec::btree("public", table, cols),
            kind: CandidateKind::Btree,
            why: vec![],
            queries: vec![],
            unverifiable: None,
        }
    }

    /// A planner given as a table: the cost of each query with each index; a query uses the
    /// cheapest of the indexes present when it beats the plan without them.
    struct Table {
        base: Vec<f64>,
        with: HashMap<String, Vec<Option<f64>>>,
    }

    impl Table {
        fn plan(&self, present: &[String], q: usize) -> (f64, Option<String>) {
            let mut best = (self.base[q], None);
            for ix in present {
                if let Some(Some(c)) = self.with.get(ix).map(|v| v[q]) {
                    if c < best.0 {
                        best = (c, Some(ix.clone()));
                    }
                }
            }
            best
        }
    }

    fn run(
        t: &Table,
        cands: Vec<Candidate>,
        calls: Vec<u64>,
        writes: HashMap<String, f64>,
        opts: AdviseOptions,
        sizes: &HashMap<String, i64>,
    ) -> (Vec<Chosen>, f64, Vec<(String, String)>) {
        let baseline = t.base.iter().map(|&c| Some(c)).collect();
        let mut sel = Selector::new(cands, calls, baseline, writes, opts);
        let mut present: Vec<String> = Vec::new();
        let mut chosen = Vec::new();
        while sel.wants_more() {
            for i in sel.pending() {
                let key = keys_text(sel.candidate(i));
                let obs = if key == "broken" {
                    Observation::Failed("no such column".into())
                } else {
                    let mut with = present.clone();
                    with.push(key.clone());
                    Observation::Planned {
                        size_bytes: sizes.get(&key).copied().unwrap_or(8192),
                        plans: (0..t.base.len())
                            .map(|q| {
                                let (cost, used) = t.plan(&with, q);
                                (q, cost, used.as_deref() == Some(key.as_str()))
                            })
                            .collect(),
                    }
                };
                sel.observe(i, obs);
            }
            match sel.pick() {
                Some(c) => {
                    present.push(keys_text(&c.candidate));
                    chosen.push(c);
                }
                None => break,
            }
        }
        let (after, _, rejected) = sel.finish();
        (chosen, after, rejected)
    }

    fn names(c: &[Chosen]) -> Vec<String> {
        c.iter().map(|c| keys_text(&c.candidate)).collect()
    }

    fn table() -> Table {
        // q0: a = ? AND c > ?; q1: a = ? ORDER BY c; q2: b = ?
        Table {
            base: vec![100.0, 100.0, 100.0],
            with: HashMap::from([
                ("a".to_string(), vec![Some(50.0), Some(60.0), None]),
                ("a, c".to_string(), vec![Some(20.0), Some(30.0), None]),
                ("b".to_string(), vec![None, None, Some(10.0)]),
            ]),
        }
    }

    #[test]
    fn the_composite_wins_and_the_prefix_it_serves_drops_out() {
        let cands = vec![cand("t", &["a"]), cand("t", &["a", "c"]), cand("u", &["b"])];
        let (chosen, after, rejected) = run(
            &table(),
            cands,
            vec![10, 10, 1],
            HashMap::new(),
            AdviseOptions::default(),
            &HashMap::new(),
        );
        assert_eq!(names(&chosen), vec!["a, c", "b"]);
        assert_eq!(chosen[0].saving, 80.0 * 10.0 + 70.0 * 10.0);
        assert_eq!(chosen[1].saving, 90.0);
        assert_eq!(after, 20.0 * 10.0 + 30.0 * 10.0 + 10.0);
        let why = &rejected.iter().find(|(d, _)| d.contains("(a)")).unwrap().1;
        assert!(why.contains("no query's plan used it"), "{rejected:?}");
    }

    #[test]
    fn budgets_bound_the_choice() {
        let choose = |opts: AdviseOptions, sizes: &HashMap<String, i64>| {
            let all = vec![cand("t", &["a"]), cand("t", &["a", "c"]), cand("u", &["b"])];
            names(&run(&table(), all, vec![10, 10, 1], HashMap::new(), opts, sizes).0)
        };
        let one = AdviseOptions {
            max_indexes: 1,
            ..Default::default()
        };
        assert_eq!(choose(one, &HashMap::new()), vec!["a, c"]);
        // The composite is too large: the smaller index on a is the best that fits.
        let sizes = HashMap::from([("a, c".to_string(), 1 << 30), ("a".to_string(), 1 << 20)]);
        let small = AdviseOptions {
            max_size_bytes: Some(100 << 20),
            ..Default::default()
        };
        assert_eq!(choose(small, &sizes), vec!["a", "b"]);
        // A saving below min_saving of the workload is not worth an index.
        let picky = AdviseOptions {
            min_saving: 0.5,
            ..Default::default()
        };
        assert_eq!(choose(picky, &HashMap::new()), vec!["a, c"]);
    }

    #[test]
    fn write_heavy_tables_pay_and_failures_are_rejected_with_the_reason() {
        let writes = HashMap::from([("public.u".to_string(), 0.9)]);
        let (chosen, ..) = run(
            &table(),
            vec![cand("u", &["b"])],
            vec![0, 0, 1],
            writes,
            AdviseOptions::default(),
            &HashMap::new(),
        );
        assert!((chosen[0].saving - 90.0 * 0.55).abs() < 1e-9);
        let (chosen, _, rejected) = run(
            &table(),
            vec![cand("t", &["broken"])],
            vec![1, 1, 1],
            HashMap::new(),
            AdviseOptions::default(),
            &HashMap::new(),
        );
        assert!(chosen.is_empty());
        assert_eq!(rejected.len(), 1);
        assert!(rejected[0]
            .1
            .contains("could not create it: no such column"));
    }
}
