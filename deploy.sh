#!/usr/bin/env bash
# Build and start the cluster (docker-compose.yml: nginx, API ×2, worker ×2, MongoDB, RabbitMQ), then wait
# until /health answers through nginx. Safe to re-run: compose only re-creates what changed.
#   ./deploy.sh                     # PORT=8080 by default; WORKERS=N / API_REPLICAS=N to scale
#   DEPLOY_TIMEOUT=300 ./deploy.sh  # seconds to wait for health (default 180)
#   LOCAL_IMAGES=1 ./deploy.sh      # no Docker Hub: base images from scripts/local-images.sh (Debian, npm)
#   EXTRA_CA_FILE=ca.pem ./deploy.sh  # trust this CA (PEM) in the build (npm) and the service (docker/ca/)
#   COMPOSE_FILE=docker-compose.yml:docker-compose.s3.yml ./deploy.sh   # files in S3 (docs/cluster.md)
set -euo pipefail
cd "$(dirname "$0")"

port=${PORT:-8080}
timeout=${DEPLOY_TIMEOUT:-180}
url="http://localhost:$port"

die() { printf 'deploy: %s\n' "$*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker is not installed (https://docs.docker.com/engine/install/)"
docker compose version >/dev/null 2>&1 || die "the docker compose plugin (v2) is not installed"
if ! docker info >/dev/null 2>&1; then
  die "no Docker engine reachable ($(docker context show 2>/dev/null || echo default) context): start dockerd, or point DOCKER_HOST at one.
For a single machine without Docker, run it standalone: npm ci && npm start"
fi

if [ -n "${EXTRA_CA_FILE:-}" ]; then
  [ -r "$EXTRA_CA_FILE" ] || die "EXTRA_CA_FILE=$EXTRA_CA_FILE is not a readable file"
  grep -q 'BEGIN CERTIFICATE' "$EXTRA_CA_FILE" || die "EXTRA_CA_FILE=$EXTRA_CA_FILE holds no PEM certificate"
  cp "$EXTRA_CA_FILE" docker/ca/extra-ca.crt
fi

if [ "${LOCAL_IMAGES:-}" = 1 ]; then
  echo "== local base images (scripts/local-images.sh)"
  images=$(scripts/local-images.sh) || die "scripts/local-images.sh failed"
  while IFS= read -r line; do export "${line?}"; done <<<"$images"
  # The classic builder: BuildKit fetches its Dockerfile frontend from Docker Hub.
  export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0}
fi

scale=()
[ -z "${WORKERS:-}" ] || scale+=(--scale "worker=$WORKERS")
[ -z "${API_REPLICAS:-}" ] || scale+=(--scale "api=$API_REPLICAS")

echo "== build"
# api and worker share one image: build it once (compose would build it for each service, twice the time).
docker compose build api
echo "== up"
# --wait would also wait for health, but gives up on the first unhealthy container with little to show.
if ! docker compose up -d --no-build --remove-orphans ${scale[@]+"${scale[@]}"}; then
  docker compose ps -a >&2 || true
  docker compose logs --no-color --tail 30 >&2 || true
  die "docker compose up failed (above: the containers and their last log lines)"
fi

echo "== waiting for $url/health (up to ${timeout}s)"
deadline=$((SECONDS + timeout))
until curl -fsS -o /dev/null --max-time 5 "$url/health" 2>/dev/null; do
  if [ $SECONDS -ge $deadline ]; then
    echo "deploy: $url/health did not answer within ${timeout}s" >&2
    docker compose ps -a >&2 || true
    docker compose logs --no-color --tail 50 >&2 || true
    exit 1
  fi
  sleep 2
done

docker compose ps
cat <<EOF

scrapeds is up at $url  (files under $url/media/, OpenAPI at $url/openapi.json)
  ./fetch_some_data.sh --api $url https://example.com/
  docker compose logs -f api worker        # JSON logs
  docker compose up -d --scale worker=4    # more workers (api scales the same way; nginx follows)
  docker compose down                      # stop (add -v to delete the data volumes)
EOF
