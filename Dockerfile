# syntax=docker/dockerfile:1
# scrapeds: one image, three roles (ROLE=serve|api|worker; see src/config.ts and docs/cluster.md).

# ---- build: compile TypeScript, build better-sqlite3's native addon, then drop dev dependencies
FROM node:20-bookworm-slim AS build
# better-sqlite3 falls back to a node-gyp build when no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: same base (glibc matches the native addon), no compilers, not root
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    DATA_DIR=/data \
    PORT=8080
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
