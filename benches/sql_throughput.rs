//! Split + fingerprint throughput on a realistic mixed corpus, one core.
//!
//! Run: `cargo bench --bench sql_throughput` (optionally `-- 1000000` statements).
//! Prints statements/s and MB/s for split alone, and for split + fingerprint.

use dbkit::sql::fingerprint::Normalizer;
use dbkit::sql::split;
use std::hint::black_box;
use std::time::Instant;

/// A small deterministic PRNG (xorshift64*), so the corpus is the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: &[&str] = &[
    "alpha", "bravo", "o''brien", "delta", "echo", "kilo", "lima", "tango",
];
const STATUSES: &[&str] = &["new", "paid", "shipped", "cancelled", "pending"];

fn statement(r: &mut Rng, out: &mut String) {
    use std::fmt::Write;
    let n = r.below(10_000_000);
    let w = WORDS[r.below(WORDS.len() as u64) as usize];
    let st = STATUSES[r.below(STATUSES.len() as u64) as usize];
    let _ = match r.below(12) {
        0 => write!(out, "SELECT * FROM users WHERE id = {n};"),
        1 => write!(out, "select id, email from users where email = '{w}{n}@example.com';"),
        2 => write!(out, "SELECT id, status FROM orders WHERE user_id = {n} ORDER BY created_at DESC LIMIT 20;"),
        3 => {
            let k = 1 + r.below(20);
            let list: Vec<String> = (0..k).map(|i| (n + i).to_string()).collect();
            write!(out, "SELECT * FROM orders WHERE id IN ({});", list.join(", "))
        }
        4 => write!(out, "UPDATE orders SET status = '{st}' WHERE id = {n};"),
        5 => write!(out, "INSERT INTO events (user_id, kind, payload) VALUES ({n}, 'view', '{{\"p\": {n}}}');"),
        6 => write!(out, "delete from cart_items where cart_id = {n} and product_id = {};", n % 977),
        7 => write!(out, "SELECT count(*) FROM events WHERE created_at >= '2024-06-{:02}' -- dashboard\n  AND kind = '{w}';", 1 + n % 28),
        8 => write!(out, "select o.id, sum(oi.quantity) from orders o join order_items oi on oi.order_id = o.id where o.user_id = {n} group by o.id;"),
        9 => write!(out, "SELECT p.name FROM products p WHERE p.price_cents BETWEEN {} AND {} /* range */;", n % 1000, n % 1000 + 500),
        10 => write!(out, "begin;"),
        _ => write!(out, "SELECT * FROM users WHERE id = $1 AND deleted_at IS NULL;"),
    };
    out.push('\n');
}

fn main() {
    let count: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let mut corpus = String::with_capacity(count * 80);
    for _ in 0..count {
        statement(&mut r, &mut corpus);
    }
    let mb = corpus.len() as f64 / 1e6;
    println!("corpus: {count} statements, {mb:.1} MB (mixed SELECT/INSERT/UPDATE/DELETE, IN lists, comments)");

    let mut best_split = f64::MAX;
    let mut best_both = f64::MAX;
    let mut norm = Normalizer::default();
    let mut buf = String::with_capacity(256);
    for _ in 0..3 {
        let t = Instant::now();
        let sp = split(black_box(&corpus));
        assert_eq!(sp.statements.len(), count);
        black_box(&sp);
        best_split = best_split.min(t.elapsed().as_secs_f64());

        let t = Instant::now();
        let sp = split(black_box(&corpus));
        let mut acc = 0u64;
        for s in &sp.statements {
            acc ^= norm.normalize_into(s.text, &mut buf);
        }
        black_box(acc);
        best_both = best_both.min(t.elapsed().as_secs_f64());
    }
    println!(
        "split:               {:>12.0} statements/s  {:>7.1} MB/s",
        count as f64 / best_split,
        mb / best_split
    );
    println!(
        "split + fingerprint: {:>12.0} statements/s  {:>7.1} MB/s  (target: 1,000,000 statements/s on one core)",
        count as f64 / best_both,
        mb / best_both
    );
}
