#!/usr/bin/env sh
# Render nginx.conf.template for a native nginx (docker compose needs none of this: the official image
# renders it at start). Only the NGINX_* names below are substituted; nginx's own $variables stay.
#   NGINX_LISTEN=127.0.0.1:8081 NGINX_DATA_DIR=$PWD/data NGINX_STATE_DIR=/tmp/ngx \
#   NGINX_API_UPSTREAMS='server 127.0.0.1:8080;' nginx/render.sh > /tmp/ngx/nginx.conf
#   nginx -p /tmp/ngx -e /tmp/ngx/error.log -c /tmp/ngx/nginx.conf -g 'daemon off;'
set -eu
here=$(dirname "$0")
: "${NGINX_LISTEN:?e.g. 127.0.0.1:8081}" "${NGINX_DATA_DIR:?the API DATA_DIR (files under media/)}"
: "${NGINX_STATE_DIR:?an existing writable dir for the pid and temp files}" "${NGINX_API_UPSTREAMS:?e.g. server 127.0.0.1:8080;}"
export NGINX_USER="${NGINX_USER:-$(id -un)}"
export NGINX_ERROR_LOG="${NGINX_ERROR_LOG:-$NGINX_STATE_DIR/error.log}"
export NGINX_ACCESS_LOG="${NGINX_ACCESS_LOG:-$NGINX_STATE_DIR/access.log}"
export NGINX_MIME_TYPES="${NGINX_MIME_TYPES:-/etc/nginx/mime.types}"
export NGINX_API_BACKEND="${NGINX_API_BACKEND:-http://api}"
export NGINX_RESOLVER="${NGINX_RESOLVER:-}"
export NGINX_MEDIA_FALLBACK="${NGINX_MEDIA_FALLBACK:-=404}"
export NGINX_LISTEN NGINX_DATA_DIR NGINX_STATE_DIR NGINX_API_UPSTREAMS
# shellcheck disable=SC2016 # the list is literal on purpose
exec envsubst '${NGINX_USER} ${NGINX_LISTEN} ${NGINX_STATE_DIR} ${NGINX_ERROR_LOG} ${NGINX_ACCESS_LOG} ${NGINX_MIME_TYPES} ${NGINX_DATA_DIR} ${NGINX_API_UPSTREAMS} ${NGINX_API_BACKEND} ${NGINX_RESOLVER} ${NGINX_MEDIA_FALLBACK}' \
  <"$here/nginx.conf.template"
