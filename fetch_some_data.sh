#!/usr/bin/env bash
# Submit a text task and an images task for each URL to a running service (as one batch, with the
# `scrapeds` CLI), wait for them, and print where the results are.
#   ./fetch_some_data.sh [--api http://host:port] [--timeout SECONDS] [URL...]
# API defaults to $SCRAPEDS_API or http://localhost:8080. Needs curl and node.
set -euo pipefail

root="$(cd "$(dirname "$0")" && pwd)"
api="${SCRAPEDS_API:-http://localhost:8080}"
timeout=120
urls=()
while [ $# -gt 0 ]; do
  case "$1" in
    --api) api="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) urls+=("$1"); shift ;;
  esac
done
[ ${#urls[@]} -gt 0 ] || urls=("https://en.wikipedia.org/wiki/Web_scraping" "https://en.wikipedia.org/wiki/Owl")
api="${api%/}"
scrapeds() { node "$root/bin/scrapeds.js" --api "$api" "$@"; }

curl -fsS "$api/health" >/dev/null || { echo "no service answers at $api (start it with: npm start)" >&2; exit 1; }

# Exit code 3 means the batch finished with failed tasks: they are reported below.
rc=0
batch=$(printf '%s\n' "${urls[@]}" | scrapeds --json submit - --kinds text,images --wait --timeout "$timeout") || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 3 ] || { echo "timed out or failed waiting for the batch (exit $rc)" >&2; exit 1; }
id=$(printf '%s' "$batch" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).id))')
echo "batch $id: $api/batches/$id"

# One line per task from the results stream (each record carries the task, its text length or its images).
scrapeds results "$id" | node -e '
  const api = process.argv[1];
  let failed = 0;
  require("readline").createInterface({ input: process.stdin }).on("line", (line) => {
    const t = JSON.parse(line);
    const loc = `${api}/${t.kind}_tasks/${t.id}`;
    if (t.status !== "succeeded") { failed = 1; console.log(`FAILED  ${loc}: ${t.error ? t.error.message : t.status}`); return; }
    if (t.kind === "text") { console.log(`OK      text   ${t.page.text_length} chars → ${loc}/text`); return; }
    console.log(`OK      images ${JSON.stringify(t.counts)} → ${loc}/images`);
    for (const i of t.images || []) {
      const u = i.url ? (i.url.startsWith("/") ? api + i.url : i.url) : "-";
      console.log(`        ${i.outcome.padEnd(7)} ${u}  ← ${i.source_url.slice(0, 100)}${i.error ? "  (" + i.error.code + ": " + i.error.message + ")" : ""}`);
    }
  }).on("close", () => process.exit(failed));
' "$api"
