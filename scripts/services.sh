#!/usr/bin/env bash
# Throwaway test services for scrapeds: FerretDB (MongoDB wire protocol, on SQLite
# or on a private PostgreSQL cluster), a private RabbitMQ node and SeaweedFS (an
# S3-compatible object store), run on loopback ports, never as system services.
# nginx is only installed (tests start it).
#
#   scripts/services.sh install   # apt packages + FerretDB and SeaweedFS builds (idempotent)
#   scripts/services.sh start     # start/reuse; writes $SERVICES_DIR/env
#   scripts/services.sh start ferretdb   # only FerretDB (and its PostgreSQL): MONGO_URL alone in env
#   scripts/services.sh stop      # stop what start started
#   scripts/services.sh status
#   scripts/services.sh clean     # stop, then delete the state dir (data too)
#   scripts/services.sh ctl ARGS  # rabbitmqctl against the private node
#
# Environment:
#   SERVICES_DIR     state dir (default: $PWD/.services)
#   SERVICES_CACHE   build cache (default: $HOME/.cache/scrapeds); binary in $SERVICES_CACHE/bin
#   MONGO_PORT, AMQP_PORT, AMQP_DIST_PORT, EPMD_PORT   fixed ports (default: free ones)
#   SERVICES_TIMEOUT readiness timeout in seconds (default: 90)
#   FERRETDB_BACKEND sqlite (default) or postgresql: FerretDB's storage. postgresql is a throwaway
#                    cluster of Debian's PostgreSQL (initdb into $SERVICES_DIR/postgres, fsync off, its
#                    own loopback port; run as the `postgres` user when this script runs as root, since
#                    PostgreSQL refuses root). It is the faster backend (bench/ferretdb-backends.mjs,
#                    RESULTS.md); test.sh and the bench's cluster section use it. Switching needs a stop
#                    first; data of both is kept.
#   The PostgreSQL stand-in is tuned for CPU per command (issue 9; bench/ferretdb-tuning.mjs measures it
#   against the untuned settings, interleaved): these only change cost, not what a command does.
#   FERRETDB_PG_VIA  unix (default): FerretDB reaches PostgreSQL over its Unix socket in $PG_DIR/data;
#                    tcp: over loopback TCP, as before.
#   FERRETDB_GOGC    Go's GOGC for FerretDB (default 400: a few times more heap, a quarter of the GC cycles;
#                    its heap is tens of MB).
#   FERRETDB_GOMAXPROCS  Go's GOMAXPROCS for FerretDB (default 1 up to 3 CPUs, else half of them): its idle
#                    Ps spin for work after each reply, which on 2 cores shared with Node and PostgreSQL
#                    backends costs more than the parallelism gains.
#   FERRETDB_PG_ID_INDEX  1 (default): a GIN index on every collection's `_id` that FerretDB v1's lookups can use
#                    (see PG_ID_INDEX_SQL); 0: FerretDB's own indexes only, as before (every find by `_id` a scan;
#                    those a run with 1 made are dropped at start).
#   PG_SETTINGS      extra `-c name=value` options for PostgreSQL (e.g. to try one).
#   FERRETDB_DEBUG_ADDR  FerretDB's debug HTTP address (/debug/pprof, /debug/metrics); default off (-).
#   The env file also has MONGO_URL_UNIX: the same FerretDB over its Unix socket ($FDB_DIR/ferretdb.sock),
#   a same-host option for clients (the bench measures it; MONGO_URL stays TCP).
#   PG_PORT          fixed PostgreSQL port (default: a free one)
set -euo pipefail

FERRETDB_VERSION=v1.24.2
FERRETDB_MODULE=github.com/FerretDB/FerretDB
RABBIT_NODE=${SERVICES_RABBIT_NODE:-scrapeds-test@localhost}

SERVICES_DIR=${SERVICES_DIR:-$PWD/.services}
SERVICES_CACHE=${SERVICES_CACHE:-${HOME:-/root}/.cache/scrapeds}
SERVICES_TIMEOUT=${SERVICES_TIMEOUT:-90}
FERRETDB_BIN=$SERVICES_CACHE/bin/ferretdb
# SeaweedFS tags releases as "4.01", not semver, so the module proxy knows only pseudo-versions: pin one.
SEAWEEDFS_VERSION=v0.0.0-20261109003541-7506e5f91cd6
SEAWEEDFS_MODULE=github.com/seaweedfs/seaweedfs
WEED_BIN=$SERVICES_CACHE/bin/weed
# The S3 identity of the tests (written to the env file); SeaweedFS checks every request against it.
S3_ACCESS_KEY=scrapeds-test
S3_SECRET_KEY=scrapeds-test-secret
# Debian's /usr/sbin/rabbitmq-* wrappers switch to the rabbitmq user when run as
# root; the scripts in /usr/lib/rabbitmq/bin run as the caller.
RABBIT_BIN=/usr/lib/rabbitmq/bin
FERRETDB_BACKEND=${FERRETDB_BACKEND:-sqlite}
FERRETDB_PG_VIA=${FERRETDB_PG_VIA:-unix}
FERRETDB_GOGC=${FERRETDB_GOGC:-400}
FERRETDB_PG_ID_INDEX=${FERRETDB_PG_ID_INDEX:-1}
CPUS=$(nproc 2>/dev/null || echo 2)
FERRETDB_GOMAXPROCS=${FERRETDB_GOMAXPROCS:-$((CPUS > 3 ? CPUS / 2 : 1))}
case "$FERRETDB_BACKEND" in postgresql|sqlite) ;; *) echo "[services] ERROR: FERRETDB_BACKEND must be postgresql or sqlite" >&2; exit 2 ;; esac

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root (or sudo) for: $*"; fi
}

# ---------------------------------------------------------------- helpers

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT
port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# free_port [PREFERRED]: PREFERRED if free, else a random free port in 20000-32000
# (below Linux's ephemeral range so outgoing connections cannot take it).
free_port() {
  local p=${1:-}
  if [ -n "$p" ] && ! port_open "$p"; then echo "$p"; return; fi
  local i
  for i in $(seq 1 200); do
    p=$((20000 + RANDOM % 12000))
    if ! port_open "$p"; then echo "$p"; return; fi
  done
  die "no free port found"
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

read_file() { [ -f "$1" ] && cat "$1" || true; }

# kill_pid PID [SECONDS]: TERM, wait, then KILL
kill_pid() {
  local pid=$1 t=${2:-10} i
  pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 $((t * 10))); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.2
}

show_log() {
  local f
  for f in "$@"; do
    [ -f "$f" ] || continue
    printf -- '----- tail of %s -----\n' "$f" >&2
    tail -n 40 "$f" >&2
  done
}

# AMQP 0-9-1 probe: send the protocol header, expect a Connection.Start
# method frame (type 1) back.
amqp_probe() {
  timeout 5 bash -c '
    exec 3<>/dev/tcp/127.0.0.1/'"$1"' || exit 1
    printf "AMQP\x00\x00\x09\x01" >&3
    b=$(head -c 1 <&3 | od -An -tu1 | tr -d " ")
    [ "$b" = 1 ]' 2>/dev/null
}

find_go() {
  if command -v go >/dev/null 2>&1; then command -v go
  elif [ -x /usr/local/go/bin/go ]; then echo /usr/local/go/bin/go
  else return 1; fi
}

# ---------------------------------------------------------------- install

# chromium: the dashboard test drives it with puppeteer-core.
APT_PACKAGES=(rabbitmq-server nginx chromium debootstrap postgresql)
# The compose test (test/serial/deploy.test.ts) needs a Docker engine; Debian's docker.io brings dockerd
# (the test starts it). Left alone where an engine or another Docker package is already there.
if ! command -v dockerd >/dev/null 2>&1 && [ ! -S /var/run/docker.sock ]; then APT_PACKAGES+=(docker.io); fi

# pids of daemons a package install might start (pgrep caps patterns at 15 chars)
service_pids() {
  local n
  for n in beam.smp epmd nginx erl_child_setup dockerd containerd postgres; do pgrep -x "$n" 2>/dev/null || true; done | sort
}

apt_install() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "apt packages already installed: ${APT_PACKAGES[*]}"
    return
  fi
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install ${missing[*]} by hand"
  log "installing ${missing[*]} with apt-get"
  local t0=$SECONDS

  # Keep the packages' maintainer scripts from starting system services.
  local policy=/usr/sbin/policy-rc.d
  if [ -e $policy ]; then as_root mv -f $policy $policy.scrapeds-saved; fi
  trap 'as_root rm -f '$policy'; [ ! -e '$policy'.scrapeds-saved ] || as_root mv -f '$policy'.scrapeds-saved '$policy'' EXIT
  printf '#!/bin/sh\nexit 101\n' | as_root tee $policy >/dev/null
  as_root chmod 755 $policy
  local before
  before=$(service_pids)

  local rc=0
  export DEBIAN_FRONTEND=noninteractive
  local apt_opts=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  # Update the lists only when they are missing, lack a candidate, or the install fails.
  local need_update=0
  for p in "${missing[@]}"; do
    apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]' || need_update=1
  done
  if [ $need_update -eq 1 ]; then
    as_root apt-get update -q || true
  fi
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" "${missing[@]}"; then
    if [ $need_update -eq 0 ]; then
      log "apt-get install failed; running apt-get update and retrying"
      as_root apt-get update -q || true
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" "${missing[@]}" || rc=$?
    else
      rc=1
    fi
  fi

  as_root rm -f $policy
  if [ -e $policy.scrapeds-saved ]; then as_root mv -f $policy.scrapeds-saved $policy; fi
  trap - EXIT

  # Anything the install started anyway (e.g. epmd, or systemd units): stop it.
  if [ -d /run/systemd/system ]; then
    as_root systemctl disable --now rabbitmq-server.service nginx.service postgresql.service epmd.socket epmd.service docker.service docker.socket containerd.service >/dev/null 2>&1 || true
  fi
  local after pid
  after=$(service_pids)
  for pid in $(comm -13 <(echo "$before") <(echo "$after")); do
    log "stopping process $pid started by the package install"
    as_root kill "$pid" 2>/dev/null || true
  done
  [ $rc -eq 0 ] || die "apt-get install ${missing[*]} failed"
  log "apt install took $((SECONDS - t0))s"
}

# go_module_dir MODULE VERSION: download MODULE@VERSION through the module proxy; print its (read-only) dir.
go_module_dir() {
  local go dir
  go=$(find_go) || die "Go toolchain not found (need a recent Go to build $1)"
  export GOTOOLCHAIN=${GOTOOLCHAIN:-auto} GOFLAGS=-buildvcs=false
  dir=$("$go" mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [ -n "$dir" ] && [ -f "$dir/go.mod" ] || die "go mod download $1@$2 failed"
  echo "$dir"
}

ferretdb_install() {
  if [ -x "$FERRETDB_BIN" ] && "$FERRETDB_BIN" --version 2>/dev/null | grep -q "version: $FERRETDB_VERSION"; then
    log "ferretdb $FERRETDB_VERSION already built: $FERRETDB_BIN"
    return
  fi
  local go
  go=$(find_go) || die "Go toolchain not found (need Go >= 1.24 for FerretDB $FERRETDB_VERSION)"
  log "building ferretdb $FERRETDB_VERSION with $go (one-time, ~1 min)"
  local t0=$SECONDS
  # `go install $FERRETDB_MODULE/cmd/ferretdb@$FERRETDB_VERSION` builds, but the binary
  # panics at start-up: the module zip lacks the generated build/version/version.txt.
  # So: fetch the module via the proxy, copy it, add version.txt, and build that.
  # The SQLite backend is on by default (build tag ferretdb_no_sqlite would drop it).
  local dir
  dir=$(go_module_dir "$FERRETDB_MODULE" "$FERRETDB_VERSION")
  local src=$SERVICES_CACHE/src/ferretdb-$FERRETDB_VERSION
  rm -rf "$src"
  mkdir -p "$(dirname "$src")" "$SERVICES_CACHE/bin"
  cp -r "$dir" "$src"
  chmod -R u+w "$src"
  echo "$FERRETDB_VERSION" >"$src/build/version/version.txt"
  echo "scrapeds" >"$src/build/version/package.txt"
  (cd "$src" && "$go" build -o "$FERRETDB_BIN.tmp" ./cmd/ferretdb) || die "ferretdb build failed"
  mv -f "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
  rm -rf "$src"
  "$FERRETDB_BIN" --version | grep -q "version: $FERRETDB_VERSION" || die "built ferretdb does not run"
  log "ferretdb build took $((SECONDS - t0))s: $FERRETDB_BIN"
}

weed_install() {
  if [ -x "$WEED_BIN" ] && [ "$(read_file "$WEED_BIN.version")" = "$SEAWEEDFS_VERSION" ]; then
    log "seaweedfs $SEAWEEDFS_VERSION already built: $WEED_BIN"
    return
  fi
  local go
  go=$(find_go) || die "Go toolchain not found (need Go >= 1.26 for SeaweedFS $SEAWEEDFS_VERSION)"
  log "building seaweedfs $SEAWEEDFS_VERSION with $go (one-time; a large program: minutes)"
  local t0=$SECONDS
  # Not `go install …@version`: the module's go.mod has a replace directive, which go install refuses.
  # So build inside the downloaded module (read-only, but the output goes elsewhere).
  local dir
  dir=$(go_module_dir "$SEAWEEDFS_MODULE" "$SEAWEEDFS_VERSION")
  mkdir -p "$SERVICES_CACHE/bin"
  # CGO off: a static binary. nice: the build takes every core for minutes.
  (cd "$dir" && CGO_ENABLED=0 nice -n 10 "$go" build -ldflags '-s -w' -o "$WEED_BIN.tmp" ./weed) || die "seaweedfs build failed"
  mv -f "$WEED_BIN.tmp" "$WEED_BIN"
  "$WEED_BIN" version >/dev/null 2>&1 || die "built weed does not run"
  echo "$SEAWEEDFS_VERSION" >"$WEED_BIN.version"
  log "seaweedfs build took $((SECONDS - t0))s: $WEED_BIN"
}

# `docker compose config` validates docker-compose.yml without an engine; where the docker client has no
# compose plugin, build one from the Go module proxy (cached) so test.sh can run that check.
COMPOSE_VERSION=v2.29.7
compose_install() {
  command -v docker >/dev/null 2>&1 || { log "no docker client: compose check not possible"; return; }
  if docker compose version >/dev/null 2>&1; then return; fi
  local go plugin_dir=${DOCKER_CONFIG:-${HOME:-/root}/.docker}/cli-plugins
  go=$(find_go) || { log "no Go toolchain: cannot build the docker compose plugin"; return; }
  log "building docker compose $COMPOSE_VERSION (one-time)"
  local t0=$SECONDS
  mkdir -p "$SERVICES_CACHE/compose" "$plugin_dir"
  if GOBIN=$SERVICES_CACHE/compose GOFLAGS=-buildvcs=false "$go" install "github.com/docker/compose/v2/cmd@$COMPOSE_VERSION"; then
    cp -f "$SERVICES_CACHE/compose/cmd" "$plugin_dir/docker-compose"
    log "docker compose build took $((SECONDS - t0))s"
  else
    log "docker compose build failed: test.sh will skip the compose check"
  fi
}

cmd_install() {
  apt_install
  ferretdb_install
  weed_install
  compose_install
  local nginx
  nginx=$(command -v nginx || echo /usr/sbin/nginx)
  [ -x "$nginx" ] || die "nginx binary not found after install"
  [ -x "$RABBIT_BIN/rabbitmq-server" ] || die "$RABBIT_BIN/rabbitmq-server not found after install"
  pg_bindir >/dev/null || die "PostgreSQL server binaries not found after install"
  echo "nginx: $nginx"
  echo "postgresql: $(pg_bindir)"
  echo "ferretdb: $FERRETDB_BIN"
  echo "weed: $WEED_BIN"
  echo "rabbitmq-server: $RABBIT_BIN/rabbitmq-server"
}

# ---------------------------------------------------------------- ferretdb

FDB_DIR=$SERVICES_DIR/ferretdb

ferretdb_running() {
  local pid port
  pid=$(read_file "$FDB_DIR/pid"); port=$(read_file "$FDB_DIR/port")
  pid_alive "$pid" && [ -n "$port" ] && port_open "$port"
}

ferretdb_start() {
  if ferretdb_running; then
    local running
    running=$(read_file "$FDB_DIR/backend")
    [ "${running:-sqlite}" = "$FERRETDB_BACKEND" ] ||
      die "ferretdb is running on ${running:-sqlite}, FERRETDB_BACKEND=$FERRETDB_BACKEND: run scripts/services.sh stop first"
    log "ferretdb already running on $FERRETDB_BACKEND (pid $(cat "$FDB_DIR/pid"), port $(cat "$FDB_DIR/port"))"
    return
  fi
  [ -x "$FERRETDB_BIN" ] || die "ferretdb not built: run scripts/services.sh install"
  ferretdb_stop quiet
  mkdir -p "$FDB_DIR/data"
  local backend
  if [ "$FERRETDB_BACKEND" = postgresql ]; then
    pg_start
    # pgx's default pool is max(4, CPUs) connections, and a FerretDB v1 command can hold one while it waits
    # for a second (its metadata registry): more concurrent commands than connections deadlock it for good.
    # 150 connections (PostgreSQL allows 200 here) stays above what our clients send at once (MONGO_POOL_SIZE).
    if [ "$FERRETDB_PG_VIA" = unix ]; then
      backend=(--handler=postgresql --postgresql-url="postgres://$PG_USER@/$PG_DB?host=$PG_DIR/data&port=$(cat "$PG_DIR/port")&pool_max_conns=150")
    else
      backend=(--handler=postgresql --postgresql-url="postgres://$PG_USER@127.0.0.1:$(cat "$PG_DIR/port")/$PG_DB?pool_max_conns=150")
    fi
  else
    backend=(--handler=sqlite --sqlite-url="file:$FDB_DIR/data/")
  fi
  echo "$FERRETDB_BACKEND" >"$FDB_DIR/backend"
  local port
  port=$(free_port "${MONGO_PORT:-$(read_file "$FDB_DIR/port")}")
  echo "$port" >"$FDB_DIR/port"
  : >"$FDB_DIR/ferretdb.log"
  rm -f "$FDB_DIR/ferretdb.sock" # left by a killed FerretDB, it would fail the listen
  local goenv=()
  [ "$FERRETDB_BACKEND" != postgresql ] || goenv=(GOGC="$FERRETDB_GOGC" GOMAXPROCS="$FERRETDB_GOMAXPROCS")
  setsid env "${goenv[@]}" "$FERRETDB_BIN" \
    "${backend[@]}" \
    --listen-addr="127.0.0.1:$port" --listen-unix="$FDB_DIR/ferretdb.sock" --state-dir="$FDB_DIR" \
    --debug-addr="${FERRETDB_DEBUG_ADDR:--}" --telemetry=disable --log-level=warn --log-format=text \
    </dev/null >>"$FDB_DIR/ferretdb.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$FDB_DIR/pid"
  local deadline=$((SECONDS + SERVICES_TIMEOUT))
  until port_open "$port"; do
    if ! pid_alive "$pid"; then
      show_log "$FDB_DIR/ferretdb.log"; die "ferretdb exited during start-up"
    fi
    if [ $SECONDS -ge $deadline ]; then
      show_log "$FDB_DIR/ferretdb.log"; ferretdb_stop quiet
      die "ferretdb not listening on 127.0.0.1:$port after ${SERVICES_TIMEOUT}s"
    fi
    sleep 0.2
  done
  log "ferretdb started (pid $pid, port $port)"
}

# stop_by_pidfile NAME DIR [quiet]: stop the process whose pid is in DIR/pid, then forget it.
stop_by_pidfile() {
  local pid
  pid=$(read_file "$2/pid")
  if pid_alive "$pid"; then
    [ "${3:-}" = quiet ] || log "stopping $1 (pid $pid)"
    kill_pid "$pid" 10
  fi
  rm -f "$2/pid"
}

ferretdb_stop() { stop_by_pidfile ferretdb "$FDB_DIR" "${1:-}"; }
# ---------------------------------------------------------------- postgresql

PG_DIR=$SERVICES_DIR/postgres
PG_USER=postgres
PG_DB=ferretdb

# pg_bindir: the newest installed PostgreSQL server's bin dir (Debian keeps initdb/pg_ctl off PATH)
pg_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$d" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
  d=$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")
  [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] && echo "$d"
}

# as_pg CMD...: PostgreSQL will not run as root, so root runs it as the postgres user
# (which then owns $PG_DIR); anyone else runs it as themselves.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"
  else "$@"; fi
}

pg_running() {
  local port
  port=$(read_file "$PG_DIR/port")
  [ -f "$PG_DIR/data/postmaster.pid" ] && [ -n "$port" ] && port_open "$port"
}

# FerretDB v1 asks PostgreSQL for a document by `_jsonb->$1 @> $2` (its filter pushdown: containment, the key a
# parameter), which the btree index it makes for `_id` cannot serve: every find by `_id`, and the read of every
# update by `_id`, was a scan of the whole collection (1.7 ms at 3,000 documents, growing with them). A GIN index
# on `_jsonb->'_id'` (jsonb_path_ops: containment) serves that filter once the key is known at planning, hence
# plan_cache_mode=force_custom_plan below (a generic plan of `_jsonb->$1` matches no index); fastupdate off, since
# GIN's pending list is scanned by every lookup until merged (1 ms a find again at 30,000). An event trigger adds
# it to every table FerretDB creates (a collection is a table with a `_jsonb` column); the DO block to tables made
# before. FerretDB neither sees nor needs to know of it: its own indexes and metadata are untouched.
PG_ID_INDEX_SQL=$(cat <<'SQL'
CREATE OR REPLACE FUNCTION scrapeds_index_id(rel regclass) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = rel AND attname = '_jsonb' AND NOT attisdropped) THEN
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING gin ((_jsonb->''_id'') jsonb_path_ops) WITH (fastupdate = off)', 'scrapeds_id_' || rel::oid, rel);
  END IF;
END $f$;
CREATE OR REPLACE FUNCTION scrapeds_index_new_tables() RETURNS event_trigger LANGUAGE plpgsql AS $f$
DECLARE obj record;
BEGIN
  FOR obj IN SELECT objid FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' AND object_type = 'table' LOOP
    PERFORM scrapeds_index_id(obj.objid::regclass);
  END LOOP;
END $f$;
DROP EVENT TRIGGER IF EXISTS scrapeds_index_new_tables;
CREATE EVENT TRIGGER scrapeds_index_new_tables ON ddl_command_end WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION scrapeds_index_new_tables();
DO $d$
DECLARE t regclass;
BEGIN
  FOR t IN SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') LOOP
    PERFORM scrapeds_index_id(t);
  END LOOP;
END $d$;
SQL
)
# FERRETDB_PG_ID_INDEX=0: no trigger, and the indexes it made are dropped (a data dir kept from a run with it).
PG_NO_ID_INDEX_SQL=$(cat <<'SQL'
DROP EVENT TRIGGER IF EXISTS scrapeds_index_new_tables;
DO $d$
DECLARE i record;
BEGIN
  FOR i IN SELECT schemaname, indexname FROM pg_indexes WHERE indexname LIKE 'scrapeds\_id\_%' LOOP
    EXECUTE format('DROP INDEX %I.%I', i.schemaname, i.indexname);
  END LOOP;
END $d$;
SQL
)

pg_start() {
  local bin
  bin=$(pg_bindir) || die "PostgreSQL not installed: run scripts/services.sh install"
  if pg_running; then
    log "postgresql already running (port $(cat "$PG_DIR/port"))"
    return
  fi
  mkdir -p "$PG_DIR"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "no postgres user to run PostgreSQL as (install the postgresql package)"
    chown postgres: "$PG_DIR"
    as_pg test -x "$PG_DIR" || die "user postgres cannot reach $PG_DIR (a parent directory is not searchable)"
  fi
  if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
    rm -rf "$PG_DIR/data"
    as_pg "$bin/initdb" -D "$PG_DIR/data" -U "$PG_USER" --auth=trust --encoding=UTF8 --no-locale --no-sync \
      >"$PG_DIR/initdb.log" 2>&1 || { show_log "$PG_DIR/initdb.log"; die "initdb failed"; }
  fi
  local port
  port=$(free_port "${PG_PORT:-$(read_file "$PG_DIR/port")}")
  echo "$port" >"$PG_DIR/port"
  # A throwaway test database: durability settings off (a crash loses it, which is fine), loopback only,
  # the socket in its own dir so no system path is touched.
  local id_index_opts=''
  [ "$FERRETDB_PG_ID_INDEX" != 1 ] || id_index_opts='-c plan_cache_mode=force_custom_plan' # see PG_ID_INDEX_SQL
  as_pg "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t "$SERVICES_TIMEOUT" start \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_DIR/data -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c jit=off $id_index_opts ${PG_SETTINGS:-}" \
    >/dev/null || { show_log "$PG_DIR/postgres.log"; die "postgresql did not start"; }
  if ! as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U "$PG_USER" -d postgres -Atqc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" | grep -q 1; then
    as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$PG_USER" "$PG_DB" || die "createdb $PG_DB failed"
  fi
  if [ "$FERRETDB_PG_ID_INDEX" = 1 ]; then
    as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U "$PG_USER" -d "$PG_DB" -Atq -v ON_ERROR_STOP=1 -f - <<<"$PG_ID_INDEX_SQL" \
      >>"$PG_DIR/postgres.log" 2>&1 || { show_log "$PG_DIR/postgres.log"; die "could not install the _id index trigger"; }
  else
    as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U "$PG_USER" -d "$PG_DB" -Atq -f - <<<"$PG_NO_ID_INDEX_SQL" >/dev/null 2>&1 || true
  fi
  log "postgresql started (port $port, data $PG_DIR/data)"
}

pg_stop() {
  local bin
  [ -f "$PG_DIR/data/postmaster.pid" ] || return 0
  bin=$(pg_bindir) || return 0
  [ "${1:-}" = quiet ] || log "stopping postgresql"
  as_pg "$bin/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------- rabbitmq

RMQ_DIR=$SERVICES_DIR/rabbitmq

# Environment for the private node and for CLI tools talking to it. HOME is the
# state dir so the Erlang cookie ($HOME/.erlang.cookie) is private and created
# on first start, whatever the state of the user's real home.
rabbit_env() {
  local port dist epmd
  port=$(read_file "$RMQ_DIR/port"); dist=$(read_file "$RMQ_DIR/dist_port"); epmd=$(read_file "$RMQ_DIR/epmd_port")
  export HOME=$RMQ_DIR/home
  export RABBITMQ_NODENAME=$RABBIT_NODE
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT=$port
  export RABBITMQ_DIST_PORT=$dist
  export ERL_EPMD_PORT=$epmd
  export ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_CONFIG_FILE=$RMQ_DIR/rabbitmq.conf
  export RABBITMQ_ADVANCED_CONFIG_FILE=$RMQ_DIR/advanced.config
  export RABBITMQ_CONF_ENV_FILE=$RMQ_DIR/rabbitmq-env.conf
  export RABBITMQ_ENABLED_PLUGINS_FILE=$RMQ_DIR/enabled_plugins
  export RABBITMQ_MNESIA_BASE=$RMQ_DIR/mnesia
  export RABBITMQ_LOG_BASE=$RMQ_DIR/log
  export RABBITMQ_PID_FILE=$RMQ_DIR/rabbitmq.pid
  export RABBITMQ_LOGS=$RMQ_DIR/log/rabbit.log
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

rabbit_ctl() { (rabbit_env; "$RABBIT_BIN/rabbitmqctl" -n "$RABBIT_NODE" "$@"); }

rabbit_running() {
  local pid port
  pid=$(read_file "$RMQ_DIR/pid"); port=$(read_file "$RMQ_DIR/port")
  pid_alive "$pid" && [ -n "$port" ] && amqp_probe "$port"
}

rabbit_start() {
  if rabbit_running; then
    log "rabbitmq already running (pid $(cat "$RMQ_DIR/pid"), port $(cat "$RMQ_DIR/port"))"
    return
  fi
  [ -x "$RABBIT_BIN/rabbitmq-server" ] || die "rabbitmq-server not installed: run scripts/services.sh install"
  rabbit_stop quiet
  mkdir -p "$RMQ_DIR/home" "$RMQ_DIR/mnesia" "$RMQ_DIR/log"
  local port dist epmd
  port=$(free_port "${AMQP_PORT:-$(read_file "$RMQ_DIR/port")}")
  echo "$port" >"$RMQ_DIR/port"
  dist=$(free_port "${AMQP_DIST_PORT:-$(read_file "$RMQ_DIR/dist_port")}")
  [ "$dist" != "$port" ] || dist=$(free_port)
  echo "$dist" >"$RMQ_DIR/dist_port"
  epmd=$(free_port "${EPMD_PORT:-$(read_file "$RMQ_DIR/epmd_port")}")
  case "$epmd" in "$port"|"$dist") epmd=$(free_port) ;; esac
  echo "$epmd" >"$RMQ_DIR/epmd_port"
  cat >"$RMQ_DIR/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$port
loopback_users = none
consumer_timeout = 3600000
disk_free_limit.absolute = 10MB
vm_memory_high_watermark.relative = 0.8
log.console = false
log.file.level = info
EOF
  echo '[].' >"$RMQ_DIR/advanced.config"
  echo '[].' >"$RMQ_DIR/enabled_plugins"
  : >"$RMQ_DIR/rabbitmq-env.conf"
  : >"$RMQ_DIR/rabbitmq.out"
  (
    rabbit_env
    # Private epmd in the foreground (not -daemon) so stop can kill it by pid.
    setsid epmd -port "$epmd" -address 127.0.0.1 </dev/null >>"$RMQ_DIR/epmd.log" 2>&1 &
    echo $! >"$RMQ_DIR/epmd_pid"
    setsid "$RABBIT_BIN/rabbitmq-server" </dev/null >>"$RMQ_DIR/rabbitmq.out" 2>&1 &
    echo $! >"$RMQ_DIR/pid"
  )
  local pid
  pid=$(cat "$RMQ_DIR/pid")
  local deadline=$((SECONDS + SERVICES_TIMEOUT))
  until amqp_probe "$port"; do
    if ! pid_alive "$pid"; then
      show_log "$RMQ_DIR/rabbitmq.out" "$RMQ_DIR/log/rabbit.log"; rabbit_stop quiet
      die "rabbitmq exited during start-up"
    fi
    if [ $SECONDS -ge $deadline ]; then
      show_log "$RMQ_DIR/rabbitmq.out" "$RMQ_DIR/log/rabbit.log"; rabbit_stop quiet
      die "rabbitmq not answering AMQP on 127.0.0.1:$port after ${SERVICES_TIMEOUT}s"
    fi
    sleep 0.3
  done
  log "rabbitmq started (pid $pid, node $RABBIT_NODE, amqp $port, dist $dist, epmd $epmd)"
}

rabbit_stop() {
  local pid epid
  pid=$(read_file "$RMQ_DIR/pid"); epid=$(read_file "$RMQ_DIR/epmd_pid")
  if pid_alive "$pid"; then
    [ "${1:-}" = quiet ] || log "stopping rabbitmq (pid $pid)"
    # SIGTERM to the rabbitmq-server wrapper shell makes it stop the node
    # gracefully (~1s; `rabbitmqctl stop` works too but takes ~5s).
    kill_pid "$pid" 20
  fi
  # beam.smp may outlive the wrapper shell; its own pid file names it.
  local bpid
  bpid=$(read_file "$RMQ_DIR/rabbitmq.pid")
  if pid_alive "$bpid" && grep -q beam "/proc/$bpid/comm" 2>/dev/null; then kill_pid "$bpid" 10; fi
  if pid_alive "$epid"; then kill_pid "$epid" 5; fi
  rm -f "$RMQ_DIR/pid" "$RMQ_DIR/epmd_pid" "$RMQ_DIR/rabbitmq.pid"
}

# ---------------------------------------------------------------- seaweedfs (S3)

S3_DIR=$SERVICES_DIR/seaweedfs

s3_running() {
  local pid port
  pid=$(read_file "$S3_DIR/pid"); port=$(read_file "$S3_DIR/port")
  pid_alive "$pid" && [ -n "$port" ] && s3_probe "$port"
}

# Ready when a signed ListBuckets succeeds: the gateway is up and has reached its filer.
s3_probe() {
  curl -sf -o /dev/null --max-time 3 --aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" "http://127.0.0.1:$1/" 2>/dev/null
}

s3_start() {
  if s3_running; then
    log "seaweedfs already running (pid $(cat "$S3_DIR/pid"), s3 port $(cat "$S3_DIR/port"))"
    return
  fi
  [ -x "$WEED_BIN" ] || die "seaweedfs not built: run scripts/services.sh install"
  s3_stop quiet
  # Throwaway data: the ports below are new at each start, and a master that finds volumes registered under
  # other ports freezes volume growth ("master state loss"), so every write would then time out.
  rm -rf "$S3_DIR/data"
  mkdir -p "$S3_DIR/data"
  # One process: master, volume server, filer and S3 gateway, each with an HTTP and a gRPC port.
  local port p name args=() taken
  port=$(free_port "${S3_PORT:-$(read_file "$S3_DIR/port")}")
  echo "$port" >"$S3_DIR/port"
  taken=" $port "
  for name in master.port master.port.grpc volume.port volume.port.grpc filer.port filer.port.grpc s3.port.grpc; do
    p=$(free_port)
    while [[ $taken == *" $p "* ]]; do p=$(free_port); done
    taken+="$p "
    args+=("-$name=$p")
  done
  printf '{"identities": [{"name": "scrapeds", "credentials": [{"accessKey": "%s", "secretKey": "%s"}], "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}\n' \
    "$S3_ACCESS_KEY" "$S3_SECRET_KEY" >"$S3_DIR/s3.json"
  : >"$S3_DIR/weed.log"
  setsid "$WEED_BIN" server -dir="$S3_DIR/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -master.volumeSizeLimitMB=256 -volume.max=64 -master.telemetry=false -s3.port.iceberg=0 -s3.port.lance=0 "${args[@]}" \
    -filer -s3 -s3.port="$port" -s3.config="$S3_DIR/s3.json" \
    </dev/null >>"$S3_DIR/weed.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$S3_DIR/pid"
  local deadline=$((SECONDS + SERVICES_TIMEOUT))
  until s3_probe "$port"; do
    if ! pid_alive "$pid"; then
      show_log "$S3_DIR/weed.log"; s3_stop quiet; die "seaweedfs exited during start-up"
    fi
    if [ $SECONDS -ge $deadline ]; then
      show_log "$S3_DIR/weed.log"; s3_stop quiet
      die "seaweedfs S3 not answering on 127.0.0.1:$port after ${SERVICES_TIMEOUT}s"
    fi
    sleep 0.3
  done
  log "seaweedfs started (pid $pid, s3 port $port)"
}

s3_stop() { stop_by_pidfile seaweedfs "$S3_DIR" "${1:-}"; }

# ---------------------------------------------------------------- commands

write_env() {
  local nginx
  nginx=$(command -v nginx || echo /usr/sbin/nginx)
  {
    echo "export MONGO_URL=mongodb://127.0.0.1:$(cat "$FDB_DIR/port")/scrapeds_test"
    # The same FerretDB over its Unix socket (the driver takes the socket path percent-encoded as the host).
    echo "export MONGO_URL_UNIX=mongodb://$(sed 's|/|%2F|g' <<<"$FDB_DIR/ferretdb.sock")/scrapeds_test"
    if [ "$1" != ferretdb ]; then
      echo "export AMQP_URL=amqp://guest:guest@127.0.0.1:$(cat "$RMQ_DIR/port")"
      echo "export S3_ENDPOINT=http://127.0.0.1:$(cat "$S3_DIR/port")"
      echo "export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY"
      echo "export AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY"
      echo "export AWS_EC2_METADATA_DISABLED=true"
    fi
    echo "export NGINX_BIN=$nginx"
    echo "export FERRETDB_BIN=$FERRETDB_BIN"
  } >"$SERVICES_DIR/env.tmp"
  mv -f "$SERVICES_DIR/env.tmp" "$SERVICES_DIR/env"
}

# Serialise start/stop per state dir: re-run this script under flock(1), which
# holds the lock itself, so daemons started below never inherit the lock fd.
with_lock() {
  [ -z "${SERVICES_LOCKED:-}" ] || return 0
  mkdir -p "$SERVICES_DIR"
  command -v flock >/dev/null 2>&1 || return 0
  local rc=0
  SERVICES_LOCKED=1 SERVICES_DIR=$SERVICES_DIR flock -o -w 300 -E 75 "$SERVICES_DIR/.services.lock" bash "$0" "$@" || rc=$?
  [ $rc -ne 75 ] || die "timed out waiting for $SERVICES_DIR/.services.lock (another start/stop running?)"
  exit $rc
}

cmd_start() {
  local t0=$SECONDS
  local only=${1:-all}
  case "$only" in all|ferretdb) ;; *) die "usage: $0 start [ferretdb]" ;; esac
  ferretdb_start
  if [ "$only" != ferretdb ]; then
    rabbit_start
    s3_start
  fi
  write_env "$only"
  log "ready in $((SECONDS - t0))s; source $SERVICES_DIR/env"
  cat "$SERVICES_DIR/env"
}

cmd_stop() {
  # Signal FerretDB first so both services shut down in parallel.
  local fpid
  fpid=$(read_file "$FDB_DIR/pid")
  if pid_alive "$fpid"; then kill -TERM "$fpid" 2>/dev/null || true; fi
  ferretdb_stop
  pg_stop
  rabbit_stop
  s3_stop
  rm -f "$SERVICES_DIR/env"
  log "stopped"
}

cmd_status() {
  local rc=0
  if ferretdb_running; then
    echo "ferretdb: running pid=$(cat "$FDB_DIR/pid") backend=$(read_file "$FDB_DIR/backend") url=mongodb://127.0.0.1:$(cat "$FDB_DIR/port")"
  else echo "ferretdb: stopped"; rc=1; fi
  if rabbit_running; then
    echo "rabbitmq: running pid=$(cat "$RMQ_DIR/pid") node=$RABBIT_NODE url=amqp://127.0.0.1:$(cat "$RMQ_DIR/port")"
  else echo "rabbitmq: stopped"; rc=1; fi
  if s3_running; then
    echo "seaweedfs: running pid=$(cat "$S3_DIR/pid") url=http://127.0.0.1:$(cat "$S3_DIR/port")"
  else echo "seaweedfs: stopped"; rc=1; fi
  echo "ferretdb binary: $([ -x "$FERRETDB_BIN" ] && echo "$FERRETDB_BIN" || echo missing)"
  echo "nginx binary: $(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || echo missing)"
  [ -f "$SERVICES_DIR/env" ] && echo "env: $SERVICES_DIR/env"
  return $rc
}

case "${1:-}" in
  start|stop|clean) with_lock "$@" ;;
esac
case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start "${2:-}" ;;
  stop) cmd_stop ;;
  clean) cmd_stop; rm -rf "$SERVICES_DIR"; log "removed $SERVICES_DIR" ;;
  status) cmd_status ;;
  ctl) shift; rabbit_ctl "$@" ;;
  *) echo "usage: $0 install|start|stop|clean|status|ctl <rabbitmqctl args>" >&2; exit 2 ;;
esac
