#!/usr/bin/env bash
# Submit a text task and an images task for each URL to a running service, wait for them, and print
# where the results are.
#   ./fetch_some_data.sh [--api http://host:port] [--timeout SECONDS] [URL...]
# API defaults to $SCRAPEDS_API or http://localhost:8080. Needs curl and node.
set -euo pipefail

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

json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);const r=process.argv[1].split(".").reduce((o,k)=>o==null?o:o[k],v);console.log(typeof r==="object"?JSON.stringify(r):r)})' "$1"; }

curl -fsS "$api/health" >/dev/null || { echo "no service answers at $api (start it with: npm start)" >&2; exit 1; }

locations=()
for url in "${urls[@]}"; do
  for kind in text images; do
    body=$(node -e 'console.log(JSON.stringify({url: process.argv[1]}))' "$url")
    resp=$(curl -sS -D - -o /tmp/fetch_some_data.$$ -H 'content-type: application/json' -d "$body" "$api/${kind}_tasks")
    status=$(printf '%s' "$resp" | head -1 | awk '{print $2}')
    if [ "$status" != "202" ]; then echo "submit $kind $url: HTTP $status $(cat /tmp/fetch_some_data.$$)" >&2; continue; fi
    loc=$(printf '%s' "$resp" | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
    echo "submitted $kind task for $url → $api$loc"
    locations+=("$loc")
  done
done
rm -f /tmp/fetch_some_data.$$

deadline=$(( $(date +%s) + timeout ))
failed=0
for loc in "${locations[@]}"; do
  while :; do
    task=$(curl -fsS "$api$loc")
    status=$(printf '%s' "$task" | json status)
    case "$status" in succeeded|failed) break ;; esac
    if [ "$(date +%s)" -ge "$deadline" ]; then echo "timed out waiting for $api$loc (still $status)" >&2; failed=1; continue 2; fi
    sleep 0.5
  done
  kind=$(printf '%s' "$task" | json kind)
  if [ "$status" = failed ]; then
    echo "FAILED  $api$loc: $(printf '%s' "$task" | json error.message)"; failed=1; continue
  fi
  if [ "$kind" = text ]; then
    echo "OK      text   $(printf '%s' "$task" | json page.text_length) chars → $api$loc/text"
  else
    counts=$(printf '%s' "$task" | json counts)
    echo "OK      images $counts → $api$loc/images"
    curl -fsS "$api$loc/images?limit=1000" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const i of JSON.parse(s).items){const u=i.url? (i.url.startsWith("/")?process.argv[1]+i.url:i.url):"-";console.log(`        ${i.outcome.padEnd(7)} ${u}  ← ${i.source_url.slice(0,100)}${i.error?"  ("+i.error.code+": "+i.error.message+")":""}`)}})' "$api"
  fi
done
exit $failed
