#!/usr/bin/env bash
# `npm run bench` as a new user first runs it: a fresh clone of the committed tree, whose root packages are
# installed (`npm ci`) but not bench/'s. Runs the api section with tiny sizes and checks it measured something.
# Needs the npm registry (or its cache) for bench/'s packages, like the first real run. ./test.sh runs it.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git clone -q "$repo" "$tmp/scrapeds"
cd "$tmp/scrapeds"
# The root install `npm ci` would make, borrowed: rebuilding better-sqlite3 takes minutes and is not what is tested.
ln -s "$repo/node_modules" node_modules
test ! -e bench/node_modules
BENCH_ONLY=api BENCH_API_SECONDS=1 BENCH_API_CONNECTIONS=2 BENCH_PAGES=4 BENCH_IMAGES_PER_PAGE=1 BENCH_REPEAT=1 \
  npm run bench --silent > "$tmp/bench.log" 2>&1 || { tail -40 "$tmp/bench.log"; exit 1; }
node -e '
  const r = JSON.parse(require("fs").readFileSync("bench/out/results.json", "utf8"));
  const rps = [r.api?.express?.rps, r.api?.service?.rps];
  if (!rps.every((x) => x > 0)) { console.error("no API throughput measured: " + JSON.stringify(r.api)); process.exit(1); }
  console.log("bench from a fresh clone: ok (" + rps.map((x) => Math.round(x)).join(" / ") + " req/s)");
' || { tail -40 "$tmp/bench.log"; exit 1; }
