//! `--format html` on the shipped fixtures: every report is one self-contained page (no
//! external URL; one small inline script after the content, for sorting and folding), hostile text stays text, the plan and workload views carry
//! their trees and charts, and headless Chromium loads each page without a console error and
//! with the expected elements in its DOM (screenshots land in target/html-reports/ for people
//! to look at), and HTML Tidy finds nothing wrong in any page. Chromium and Tidy are required:
//! `.ci/run` installs them, and the tests fail loudly without them.

use std::path::{Path, PathBuf};
use std::process::Command;

fn dbkit(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Reports from the fixtures: (name, arguments without `--format html`, allowed exit codes).
const REPORTS: &[(&str, &[&str])] = &[
    (
        "plan-show",
        &["plan", "show", "fixtures/plans/nested-loop-many-loops.json"],
    ),
    (
        "plan-analyze",
        &[
            "plan",
            "analyze",
            "fixtures/plans/nested-loop-many-loops.json",
        ],
    ),
    (
        "plan-diff",
        &[
            "plan",
            "diff",
            "fixtures/plans/diff-before.json",
            "fixtures/plans/diff-after.json",
        ],
    ),
    (
        "workload-summary",
        &["workload", "summary", "fixtures/logs/app.log"],
    ),
    (
        "workload-top",
        &["workload", "top", "fixtures/logs/app.log"],
    ),
    (
        "workload-n-plus-one",
        &["workload", "n-plus-one", "fixtures/logs/app.log"],
    ),
    ("check", &["check", "fixtures/migrations/bad/"]),
    (
        "shard-plan",
        &["shard", "plan", "--map", "fixtures/shardmaps/shop.toml"],
    ),
    (
        "shard-rebalance",
        &[
            "shard",
            "rebalance",
            "--map",
            "fixtures/shardmaps/shop.toml",
        ],
    ),
    (
        "shard-validate",
        &["shard", "validate", "--map", "fixtures/shardmaps/shop.toml"],
    ),
    (
        "sql-classify",
        &["sql", "classify", "fixtures/shop/workload.sql"],
    ),
    ("rules", &["rules"]),
    (
        "playbook",
        &[
            "playbook",
            "plan",
            "add-index-safely",
            "--var",
            "workload=fixtures/shop/workload.sql",
        ],
    ),
];

fn html(args: &[&str]) -> String {
    let mut a = args.to_vec();
    a.extend(["--format", "html", "--fail-on", "none"]);
    let (code, out, err) = dbkit(&a);
    assert_eq!(code, 0, "dbkit {}: {err}", a.join(" "));
    out
}

/// What every page must be: a whole document, no external reference, no script.
fn assert_self_contained(name: &str, page: &str) {
    assert!(
        page.starts_with("<!DOCTYPE html>"),
        "{name}: {}",
        &page[..page.len().min(200)]
    );
    assert!(page.trim_end().ends_with("</html>"), "{name}");
    for bad in [
        "http://",
        "https://",
        "//cdn",
        "<script src",
        "<link",
        "@import",
        "url(",
    ] {
        assert!(
            !page.contains(bad),
            "{name}: the page refers outside itself ({bad})"
        );
    }
    // One small inline script (sorting, folding), after the content: the page reads without it.
    assert_eq!(page.matches("<script").count(), 1, "{name}");
    assert!(
        page.find("<script").unwrap() > page.find("</main>").unwrap(),
        "{name}"
    );
    assert_eq!(
        page.matches("<svg").count(),
        page.matches("</svg>").count(),
        "{name}"
    );
    assert_eq!(
        page.matches("<table").count(),
        page.matches("</table>").count(),
        "{name}"
    );
}

#[test]
fn every_report_renders_as_a_self_contained_page() {
    for (name, args) in REPORTS {
        let page = html(args);
        assert_self_contained(name, &page);
        assert!(
            page.contains(&format!("<code>{name}</code>")),
            "{name}: names its report"
        );
    }
}

/// The inner text of an element's content: tags dropped, entities of escaped text kept as they
/// are, whitespace collapsed.
fn text_of(inner: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in inner.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A page's structure, one line per landmark: headings, table captions and headers, charts
/// (their accessible description), plan nodes with their rule badges, and findings.
fn outline(page: &str) -> String {
    let mut lines = Vec::new();
    let mut i = 0;
    while let Some(off) = page[i..].find('<') {
        let start = i + off;
        let Some(end) = page[start..].find('>').map(|e| start + e) else {
            break;
        };
        let tag = &page[start + 1..end];
        let name = tag.split([' ', '\n']).next().unwrap_or("");
        let inner = |close: &str| {
            let from = end + 1;
            page[from..]
                .find(close)
                .map(|e| text_of(&page[from..from + e]))
                .unwrap_or_default()
        };
        let attr = |a: &str| {
            tag.find(&format!("{a}=\"")).map(|p| {
                let v = &tag[p + a.len() + 2..];
                v[..v.find('"').unwrap_or(v.len())].to_string()
            })
        };
        match name {
            "h1" | "h2" | "caption" | "th" => {
                lines.push(format!("{name}: {}", inner(&format!("</{name}>"))))
            }
            "svg" => lines.push(format!("chart: {}", attr("aria-label").unwrap_or_default())),
            "span" if attr("class").as_deref() == Some("node-label") => {
                lines.push(format!("node: {}", inner("</span>")))
            }
            "span" if attr("class").as_deref() == Some("rule") => {
                lines.push(format!("  rule: {}", inner("</span>")))
            }
            "li" if matches!(attr("class").as_deref(), Some("error" | "warning" | "info")) => {
                let body = inner("</li>");
                lines.push(format!(
                    "finding: {}",
                    body.chars().take(90).collect::<String>()
                ))
            }
            _ => {}
        }
        i = end + 1;
    }
    lines.join("\n") + "\n"
}

#[test]
fn each_page_keeps_its_structure() {
    // tests/snapshots/html/<report>.txt; DBKIT_UPDATE_SNAPSHOTS=1 rewrites them after a
    // deliberate change (review the diff).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/html");
    let update = std::env::var_os("DBKIT_UPDATE_SNAPSHOTS").is_some();
    let mut differ = Vec::new();
    for (name, args) in REPORTS {
        let got = outline(&html(args));
        assert!(got.lines().count() > 2, "{name}: {got}");
        let path = dir.join(format!("{name}.txt"));
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!(
                "no snapshot {}: run with DBKIT_UPDATE_SNAPSHOTS=1 and review it",
                path.display()
            )
        });
        if want != got {
            differ.push(format!("{name}:\n--- want\n{want}\n--- got\n{got}"));
        }
    }
    assert!(
        differ.is_empty(),
        "the pages' structure changed (DBKIT_UPDATE_SNAPSHOTS=1 accepts it):\n{}",
        differ.join("\n")
    );
}

#[test]
fn the_plan_view_is_a_tree_with_time_bars_findings_and_a_chart_of_the_worst_nodes() {
    let page = html(REPORTS[0].1);
    assert_eq!(page.matches("<li id=\"node-").count(), 4, "{page}");
    assert!(page.contains("Index Only Scan using big_pkey on public.big b"));
    assert!(
        page.contains("class=\"rule\">heap-fetches<"),
        "a node's findings on it"
    );
    assert!(page.contains("aria-label=\"61.1% of the time\""), "{page}");
    assert!(page.contains("Where the time goes"), "{page}");
    assert!(page.contains("Index Cond: (b.id = s.big_id)"));
}

#[test]
fn the_workload_view_charts_minutes_and_shapes() {
    let page = html(REPORTS[3].1);
    for title in [
        "Queries per minute",
        "Query time per minute",
        "Errors per minute",
        "Costliest query shapes by total time",
        "Checkpoints by cause",
        "Connections by user",
    ] {
        assert!(page.contains(&format!("<title>{title}</title>")), "{title}");
    }
    assert!(
        page.contains("<title>Durations of #1: "),
        "a histogram per top shape"
    );
    assert!(page.contains("≤ 1.0 ms"), "readable buckets");
}

#[test]
fn the_plan_diff_shows_both_trees_side_by_side_with_the_changed_nodes_outlined() {
    let page = html(REPORTS[2].1);
    assert!(
        page.contains("id=\"before-node-0\"") && page.contains("id=\"after-node-0\""),
        "{page}"
    );
    assert!(
        page.contains("<caption>What changed between the plans</caption>"),
        "{page}"
    );
    assert!(
        page.contains(" changed\""),
        "a node a change is about is outlined: {page}"
    );
    assert!(page.contains(">regression</td>"), "{page}");
}

#[test]
fn the_check_view_puts_each_flagged_statement_at_its_line_with_its_lock() {
    let page = html(&["check", "fixtures/migrations/bad/001_blocking_index.sql"]);
    assert!(
        page.contains("line 2 <code>index-not-concurrent</code>"),
        "{page}"
    );
    assert!(
        page.contains("takes <strong>SHARE on accounts</strong>"),
        "{page}"
    );
    assert!(
        page.contains("<pre>CREATE INDEX accounts_email_idx ON accounts (email)</pre>"),
        "{page}"
    );
    assert!(page.contains("one-transaction"), "{page}");
}

#[test]
fn index_advice_charts_the_cost_before_and_after_each_index() {
    let page = html(&[
        "index",
        "advise",
        "--scratch",
        "--schema",
        "fixtures/shop/schema.sql",
        "--seed",
        "fixtures/shop/seed.sql",
        "--workload",
        "fixtures/shop/workload.sql",
    ]);
    assert_self_contained("index-advise", &page);
    assert!(
        page.contains("<title>Weighted planner cost of the workload"),
        "{page}"
    );
    assert!(
        page.contains("planner cost of the queries it serves"),
        "one chart per index: {page}"
    );
    assert!(
        page.contains("class=\"c-mark\"><title>before "),
        "the cost before is marked: {page}"
    );
}

#[test]
fn explain_draws_each_statement_with_its_plan_tree() {
    let page = html(&[
        "explain",
        "--scratch",
        "--schema",
        "fixtures/shop/schema.sql",
        "--seed",
        "fixtures/shop/seed.sql",
        "--file",
        "fixtures/shop/workload.sql",
    ]);
    assert_self_contained("explain", &page);
    assert!(page.contains("id=\"s0-node-0\""), "{page}");
    assert!(
        page.matches("<section aria-label=\"statement at line")
            .count()
            > 1,
        "{page}"
    );
}

#[test]
fn the_routing_view_charts_each_replicas_lag_against_the_limit() {
    // A real primary with a streaming replica, and a replica that cannot be reached.
    let primary = dbkit::db::ScratchCluster::start().expect("scratch PostgreSQL is required");
    let replica = primary.start_replica().expect("a scratch replica");
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("cluster.toml");
    std::fs::write(
        &map,
        format!(
            "cluster = \"shop\"\n[primary]\nname = \"p\"\nurl = \"{}\"\n[[replicas]]\nname = \"r1\"\nurl = \"{}\"\n[[replicas]]\nname = \"gone\"\nurl = \"postgres://app@127.0.0.1:1/shop?connect_timeout=2\"\n[policy]\nmax_lag_ms = 500\nmax_lag_bytes = 8388608\n",
            primary.url(),
            replica.url()
        ),
    )
    .unwrap();
    let page = html(&["route", "probe", "--map", map.to_str().unwrap()]);
    assert_self_contained("route-probe", &page);
    assert!(
        page.contains("<title>Replay lag per replica (dashed: the limit)</title>"),
        "{page}"
    );
    assert!(
        page.contains("<title>limit 500 ms</title>"),
        "the limit is marked: {page}"
    );
    assert!(
        page.contains("gone: unknown: unreachable"),
        "the reason for an excluded server: {page}"
    );
    assert!(page.contains("<title>r1: "), "{page}");
}

#[test]
fn partition_maintenance_draws_the_partitions_as_a_timeline_with_sizes_and_fates() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("events.sql");
    // Monthly partitions from six months ago to next month, with rows in each.
    std::fs::write(
        &schema,
        "CREATE TABLE events (id bigint NOT NULL, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at);
         DO $$
         DECLARE m date;
         BEGIN
           FOR i IN -6..1 LOOP
             m := date_trunc('month', now())::date + make_interval(months => i);
             EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
                            'events_p' || to_char(m, 'YYYY_MM'), m, m + interval '1 month');
           END LOOP;
         END $$;
         INSERT INTO events SELECT g, date_trunc('month', now()) - (g % 180) * interval '1 day' FROM generate_series(1, 20000) g;",
    )
    .unwrap();
    let args = [
        "partition",
        "maintain",
        "--scratch",
        "--schema",
        schema.to_str().unwrap(),
        "--premake",
        "3",
        "--retention",
        "90d",
    ];
    let page = html(&args);
    assert_self_contained("partition-maintain", &page);
    assert!(
        page.contains("<title>Partitions of public.events in bound order, by size"),
        "{page}"
    );
    assert!(
        page.contains("class=\"c-good\"") && page.contains("class=\"c-bad\""),
        "{page}"
    );
    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json"]);
    let (code, out, err) = dbkit(&json_args);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let parts = v["tables"][0]["partitions"].as_array().unwrap();
    let fates: Vec<&str> = parts.iter().map(|p| p["fate"].as_str().unwrap()).collect();
    // Created partitions are named like the existing ones (events_pYYYY_MM).
    for p in parts.iter().filter(|p| p["fate"] == "create") {
        let n = p["name"].as_str().unwrap();
        assert!(
            n.len() == "events_p2026_06".len() && n.as_bytes()[n.len() - 3] == b'_',
            "{n}"
        );
    }
    assert!(
        fates.contains(&"create") && fates.contains(&"kept"),
        "{fates:?}"
    );
    assert!(
        fates.iter().any(|f| *f == "detach" || *f == "drop"),
        "{fates:?}"
    );
    assert!(
        parts
            .iter()
            .filter(|p| p["fate"] == "kept")
            .all(|p| p["bytes"].is_i64()),
        "{out}"
    );
    assert!(
        parts
            .iter()
            .filter(|p| p["fate"] == "create")
            .all(|p| p["bytes"].is_null()),
        "{out}"
    );
}

#[test]
fn hostile_names_and_query_text_stay_text() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("evil.json");
    std::fs::write(
        &plan,
        r#"[{"Plan": {"Node Type": "Seq Scan", "Relation Name": "<script>alert(1)</script>", "Alias": "x\" onload=\"y",
            "Startup Cost": 0, "Total Cost": 10, "Plan Rows": 1, "Plan Width": 4,
            "Actual Startup Time": 0.01, "Actual Total Time": 5.0, "Actual Rows": 100000, "Actual Loops": 1,
            "Filter": "(note = '</pre><img src=x onerror=alert(2)>')", "Rows Removed by Filter": 900000},
          "Query Text": "select * from t /* */ <script>alert(3)</script>",
          "Planning Time": 0.1, "Execution Time": 5.1}]"#,
    )
    .unwrap();
    let page = html(&["plan", "show", plan.to_str().unwrap()]);
    assert_self_contained("evil plan", &page);
    assert!(!page.contains("<img"), "{page}");
    assert!(!page.contains("onload=\"y"), "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;")
            || page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
}

#[test]
fn output_writes_the_file_and_a_template_can_extend_the_layout() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan.html");
    let (code, stdout, err) = dbkit(&[
        "plan",
        "show",
        "fixtures/plans/nested-loop-many-loops.json",
        "--format",
        "html",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.is_empty());
    assert_self_contained("output", &std::fs::read_to_string(&out).unwrap());
    // The README's customisation: the built-in layout with a banner of one's own.
    let t = dir.path().join("mine.html.tera");
    std::fs::write(
        &t,
        "{% extends \"layout.html.tera\" %}{% block content %}<p class=\"banner\">ACME {{ report.nodes | length }} nodes</p>{{ super() }}{% endblock content %}",
    )
    .unwrap();
    let page = html(&[
        "plan",
        "show",
        "fixtures/plans/nested-loop-many-loops.json",
        "--template",
        t.to_str().unwrap(),
    ]);
    assert!(
        page.contains("<p class=\"banner\">ACME 4 nodes</p>"),
        "{page}"
    );
    assert_self_contained("custom", &page);
}

/// What HTML Tidy says of `page` beyond the empty time bars (a bar is an empty `<span>` with
/// its share in `aria-label`): every error and warning line.
fn tidy_complaints(page: &Path) -> Vec<String> {
    let out = Command::new("tidy")
        .args(["-errors", "-q"])
        .arg(page)
        .output()
        .unwrap_or_else(|e| {
            panic!("HTML Tidy is required (apt-get install tidy; .ci/run does): {e}")
        });
    assert!(
        out.status.code().is_some_and(|c| c <= 2),
        "tidy failed: {out:?}"
    );
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("trimming empty <span>"))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_page_is_valid_html_by_tidy() {
    let dir = tempfile::tempdir().unwrap();
    // The check can fail: a broken page is flagged.
    let bad = dir.path().join("bad.html");
    std::fs::write(
        &bad,
        "<!DOCTYPE html><html><head><title>x</title></head><body><table><tr><td>a</div></td></tr></table><p><b>b</p></body></html>",
    )
    .unwrap();
    assert!(tidy_complaints(&bad).len() >= 2);
    for (name, args) in REPORTS {
        let page = dir.path().join(format!("{name}.html"));
        std::fs::write(&page, html(args)).unwrap();
        let complaints = tidy_complaints(&page);
        assert!(complaints.is_empty(), "{name}: {complaints:#?}");
    }
}

fn chromium() -> PathBuf {
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(o) = Command::new("which").arg(c).output() {
            if o.status.success() {
                return PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
            }
        }
    }
    panic!("headless Chromium is required for the browser test (apt-get install chromium; .ci/run does)");
}

fn browse(bin: &Path, page: &Path, extra: &[&str]) -> (String, String) {
    let out = Command::new(bin)
        .args([
            "--headless",
            "--disable-dev-shm-usage",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn chromium_loads_every_page_without_a_console_error() {
    let bin = chromium();
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/html-reports");
    std::fs::create_dir_all(&shots).unwrap();
    for (name, args) in REPORTS {
        let page = shots.join(format!("{name}.html"));
        std::fs::write(&page, html(args)).unwrap();
        // JavaScript on: the DOM as the browser built it (--dump-dom needs scripting itself).
        let (dom, log) = browse(&bin, &page, &["--dump-dom"]);
        assert!(
            dom.contains("<main>") && dom.contains("</footer>"),
            "{name}: {dom}"
        );
        assert!(!log.contains("CONSOLE"), "{name}: console output: {log}");
        if *name == "plan-show" {
            assert_eq!(dom.matches("<li id=\"node-").count(), 4, "{name}");
            // The script ran: a node with children folds.
            assert!(
                dom.contains("role=\"button\" aria-expanded=\"true\""),
                "{name}: {dom}"
            );
        }
        if dom.contains("<thead>") {
            assert!(
                dom.contains("<th scope=\"col\" tabindex=\"0\""),
                "{name}: headers sort: {dom}"
            );
        }
        if *name == "workload-summary" {
            assert!(dom.matches("<svg").count() >= 4, "{name}");
        }
        // JavaScript off: the page's one script removed, the same content is there (the script
        // only adds sorting and folding). Headless Chromium's own switches cannot turn scripting
        // off and still dump the DOM.
        let html_text = std::fs::read_to_string(&page).unwrap();
        let (a, b) = (
            html_text.find("<script>").unwrap(),
            html_text.find("</script>").unwrap(),
        );
        let bare = shots.join(format!("{name}-nojs.html"));
        std::fs::write(
            &bare,
            format!("{}{}", &html_text[..a], &html_text[b + "</script>".len()..]),
        )
        .unwrap();
        let (bare_dom, log) = browse(&bin, &bare, &["--dump-dom"]);
        assert!(!log.contains("CONSOLE"), "{name}: console output: {log}");
        for element in ["<li id=", "<svg", "<table", "<h2", "<pre"] {
            assert_eq!(
                bare_dom.matches(element).count(),
                dom.matches(element).count(),
                "{name}: {element} differs without JavaScript"
            );
        }
        assert!(
            !bare_dom.contains("aria-expanded"),
            "{name}: the script did not run"
        );
        // A screenshot to look at. With JavaScript off the page is the same except that headers
        // do not sort and subtrees do not fold: the script only adds handlers (headless
        // Chromium cannot dump the DOM or screenshot with scripting disabled).
        let shot = shots.join(format!("{name}.png"));
        let arg = format!("--screenshot={}", shot.display());
        let (_, log) = browse(&bin, &page, &["--window-size=1200,1400", &arg]);
        assert!(!log.contains("CONSOLE"), "{name}: console output: {log}");
        assert!(
            std::fs::metadata(&shot).unwrap().len() > 5_000,
            "{name}: empty screenshot"
        );
    }
}
