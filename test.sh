#!/usr/bin/env bash
# The one test command (CI runs it through .ci/run): installs what it needs, then typecheck, lint, build, tests.
set -euo pipefail
cd "$(dirname "$0")"

# Dependencies: `npm ci` only when the lockfile changed since the last install (it rebuilds better-sqlite3).
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.lock-hash ] || [ "$(cat node_modules/.lock-hash)" != "$lock_hash" ]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund
  echo "$lock_hash" > node_modules/.lock-hash
fi

echo "== typecheck"
npx tsc --noEmit
echo "== lint"
npx eslint .
echo "== build"
npm run build --silent

echo "== tests"
NODE_OPTIONS=--experimental-vm-modules npx jest --ci "$@"
