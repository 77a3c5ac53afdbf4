# scrapeds: one image, three roles (ROLE=serve|api|worker; see src/config.ts and docs/cluster.md).
# No `# syntax=` line: BuildKit would fetch that frontend from Docker Hub, and nothing here needs it.
#
# Build options (docker-compose.yml passes them; docs/cluster.md):
#   NODE_IMAGE       the Node 20 base (default node:20-bookworm-slim; scripts/local-images.sh builds a stand-in)
#   docker/ca/*.crt  extra CA certificates (PEM), e.g. a corporate TLS-inspecting proxy's: trusted by npm
#                    while building and by the service at run time. `EXTRA_CA_FILE=… ./deploy.sh` puts one there.
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript, build better-sqlite3's native addon, then drop dev dependencies
FROM ${NODE_IMAGE} AS build
COPY docker/ca/ /etc/scrapeds/ca/
# One bundle of whatever docker/ca/ holds (empty by default, which Node accepts silently).
RUN cat /etc/scrapeds/ca/*.crt /etc/scrapeds/ca/*.pem > /etc/scrapeds/extra-ca.pem 2>/dev/null || true
ENV NODE_EXTRA_CA_CERTS=/etc/scrapeds/extra-ca.pem
# better-sqlite3 falls back to a node-gyp build when no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/eld-tables.mjs ./scripts/
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: same base (glibc matches the native addon), no compilers, not root
FROM ${NODE_IMAGE}
COPY --from=build /etc/scrapeds/extra-ca.pem /etc/scrapeds/extra-ca.pem
ENV NODE_ENV=production \
    DATA_DIR=/data \
    PORT=8080 \
    HOST=0.0.0.0 \
    NODE_EXTRA_CA_CERTS=/etc/scrapeds/extra-ca.pem
# /data exists and belongs to the app user before VOLUME, so a fresh named volume starts out writable by it.
RUN groupadd --system --gid 10001 scrapeds \
 && useradd --system --uid 10001 --gid scrapeds --home-dir /app --shell /usr/sbin/nologin scrapeds \
 && mkdir -p /data/media \
 && chown -R scrapeds:scrapeds /data
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
USER scrapeds
VOLUME /data
EXPOSE 8080
# Workers serve no HTTP: for them the check is that the process is alive.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "if (process.env.ROLE === 'worker') process.exit(0); fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
