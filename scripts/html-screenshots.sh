#!/usr/bin/env bash
# Regenerate the README's screenshots of the HTML reports: the browser test renders every
# report from the shipped fixtures with headless Chromium into target/html-reports/; the plan
# and workload views are copied to docs/img/.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked --test html_reports chromium_loads_every_page_without_a_console_error
mkdir -p docs/img
for r in plan-show workload-summary plan-diff; do
  cp "target/html-reports/$r.png" "docs/img/$r.png"
done
echo "docs/img: $(ls docs/img | tr '\n' ' ')"
