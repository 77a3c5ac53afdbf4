#!/usr/bin/env bash
# The one test command (CI runs it through .ci/run). It installs and starts what the tests need
# (npm packages; RabbitMQ, nginx and FerretDB via scripts/services.sh; a Python venv via
# scripts/python-venv.sh), then: typecheck, lint, build,
# the parallel test suites, the serial ones (test/serial/, which restart the shared RabbitMQ), and
# `npm run bench` in a fresh clone (bench/smoke-fresh-clone.sh).
# MONGO_URL / AMQP_URL point the tests at services of your own instead (then set RABBITMQ_CTL to a
# command that runs rabbitmqctl against that broker, for the restart test).
# Extra arguments go to jest (both phases), e.g. ./test.sh test/e2e.
set -euo pipefail
cd "$(dirname "$0")"

# Dependencies: `npm ci` only when the lockfile changed since the last install (it rebuilds better-sqlite3).
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.lock-hash ] || [ "$(cat node_modules/.lock-hash)" != "$lock_hash" ]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund
  echo "$lock_hash" > node_modules/.lock-hash
fi

echo "== services"
scripts/services.sh install
if [ -z "${MONGO_URL:-}" ] || [ -z "${AMQP_URL:-}" ]; then
  # FerretDB on PostgreSQL: less CPU per store operation than its SQLite backend (docs/decisions.md).
  export FERRETDB_BACKEND=${FERRETDB_BACKEND:-postgresql}
  scripts/services.sh start
  # shellcheck disable=SC1091
  source .services/env
  export RABBITMQ_CTL="${RABBITMQ_CTL:-$PWD/scripts/services.sh ctl}"
  if [ "${KEEP_SERVICES:-}" != 1 ]; then trap 'scripts/services.sh stop >/dev/null 2>&1 || true' EXIT; fi
fi
export MONGO_URL AMQP_URL
# The full-disk store contract runs a FerretDB of its own on a tmpfs: the binary `install` built above.
export FERRETDB_BIN=${FERRETDB_BIN:-${SERVICES_CACHE:-${HOME:-/root}/.cache/scrapeds}/bin/ferretdb}
echo "== python venv"
# Python peers (Celery, pyarrow, webdataset, datasets): suites needing them use describeWithService('SCRAPEDS_PYTHON').
SCRAPEDS_PYTHON=$(scripts/python-venv.sh)
export SCRAPEDS_PYTHON

echo "== typecheck"
npx tsc --noEmit
echo "== lint"
npx eslint .
echo "== build"
npm run build --silent
if docker compose version >/dev/null 2>&1; then
  echo "== docker compose config"
  docker compose config -q
  COMPOSE_PROFILES=seaweedfs docker compose -f docker-compose.yml -f docker-compose.s3.yml config -q
else
  echo "== docker compose config: skipped, this docker client has no compose plugin"
fi

results=$(mktemp -d)
status=0
echo "== tests"
NODE_OPTIONS=--experimental-vm-modules npx jest --ci --maxWorkers=2 --json --outputFile="$results/parallel.json" "$@" || status=$?
echo "== serial tests"
JEST_SERIAL=1 NODE_OPTIONS=--experimental-vm-modules npx jest --ci --json --outputFile="$results/serial.json" --passWithNoTests "$@" || status=$?

echo "== bench from a fresh clone (api section, tiny sizes)"
bench_smoke=0
bench/smoke-fresh-clone.sh || { bench_smoke=1; status=1; }

# One closing line for both phases, in the plain form CI reads.
BENCH_SMOKE=$bench_smoke node -e '
  let p = 0, f = 0, s = 0;
  for (const file of process.argv.slice(1)) {
    try { const r = JSON.parse(require("fs").readFileSync(file, "utf8")); p += r.numPassedTests; f += r.numFailedTests + r.numRuntimeErrorTestSuites; s += r.numPendingTests + r.numTodoTests; }
    catch { f += 1; console.log(`no results in ${file}`); }
  }
  if (process.env.BENCH_SMOKE === "1") { f += 1; console.log("bench/smoke-fresh-clone.sh failed"); }
  console.log(`${p} passed, ${f} failed` + (s ? `, ${s} skipped` : ""));
' "$results/parallel.json" "$results/serial.json"
rm -rf "$results"
exit $status
