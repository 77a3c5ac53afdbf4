/**
 * The shared-service layer around the task routes: request metrics and usage counting, API keys, rate
 * limits (middleware that runs before body parsing), and the operator's routes /metrics, /stats,
 * /admin/keys and /dashboard.
 */
import { Router, type Request, type RequestHandler } from 'express';
import type { TaskStore } from '../models/task-store.js';
import { carriesToken } from '../ops/api-key.js';
import type { RateRule } from '../ops/rate-rules.js';
import { registry, telemetry } from '../ops/telemetry.js';
import { MemoryTokenBuckets, type TokenBuckets } from '../ops/token-bucket.js';
import { adminRouter } from './admin-router.js';
import { allowOnly } from './allow-only.js';
import { onClosed } from './on-closed.js';
import { KeyAuthenticator, type AuthOptions } from './auth.js';
import { dashboardPage } from './dashboard-page.js';
import { ProblemError } from './problem.js';
import { rateLimiter } from './rate-limit.js';
import { statsRouter } from './stats-router.js';

export interface OpsOptions {
  auth: Omit<AuthOptions, 'keys'>;
  rateRules: readonly RateRule[];
  /** Defaults to this process's memory. */
  buckets?: TokenBuckets;
  /** When set, /metrics needs this Bearer token. */
  metricsKey?: string;
  /** Writes this process's pending usage counts (before /stats answers). */
  flushUsage: () => Promise<void>;
}

export const defaultOpsOptions: OpsOptions = {
  auth: { mode: 'off', publicMedia: true, cacheMs: 5000 },
  rateRules: [],
  flushUsage: async () => undefined,
};

/** Top-level paths named in the route label when no route matched (401s, 404s, files): anything else is "(other)". */
const KNOWN = new Set(['text_tasks', 'images_tasks', 'media', 'admin', 'stats', 'metrics', 'dashboard', 'batches', 'exports', 'health', 'openapi.json']);

/**
 * The route pattern of a request, e.g. `/text_tasks/:id`, for labels that stay few. Express forgets a
 * router's mount path once an error leaves it, so the mount is taken from the path: every router here is
 * mounted at one top-level segment.
 */
function routeLabel(route: { path?: unknown } | undefined, path: string): string {
  const [, first = '', rest] = /^\/([^/]*)(\/.*)?$/.exec(path) ?? [];
  if (route && typeof route.path === 'string') {
    const p = route.path;
    if (p === `/${first}` || p.startsWith(`/${first}/`)) return p; // a route of the app itself
    return `/${first}${p === '/' ? '' : p}`;
  }
  if (!KNOWN.has(first)) return '(other)';
  return rest ? `/${first}/*` : `/${first}`;
}

/**
 * req.ip without its cost when there is nothing to trust: with no X-Forwarded-For, Express's req.ip (proxy-addr)
 * is the socket's address whatever "trust proxy" says, and working that out was a visible share of a cheap GET.
 */
function clientIp(req: Request): string {
  return (req.headers['x-forwarded-for'] === undefined ? req.socket.remoteAddress : req.ip) ?? '';
}

/** Times each request and counts it once it is answered (or the client went away). */
const observe: RequestHandler = (req, res, next) => {
  // performance.now(), not hrtime.bigint(): the same monotonic clock without two BigInts per request.
  const start = performance.now();
  const path = req.path;
  // Counted on 'close', before the client's next request is read, so that request sees this one counted.
  onClosed(res, () => {
    telemetry.httpRequest({
      method: req.method,
      route: routeLabel(req.route as { path?: unknown } | undefined, path),
      status: res.statusCode,
      seconds: (performance.now() - start) / 1000,
      key: (res.locals.caller as { keyId?: string } | undefined)?.keyId ?? '',
      ip: clientIp(req),
    });
  });
  next();
};

function metricsRoute(metricsKey: string | undefined): RequestHandler {
  return async (req, res) => {
    if (metricsKey) {
      if (!carriesToken(req.headers.authorization, metricsKey)) {
        throw new ProblemError(401, 'Unauthorized', 'send the metrics token: Authorization: Bearer <METRICS_API_KEY>', [{ field: 'authorization', message: 'is not the metrics token' }], { 'www-authenticate': 'Bearer realm="metrics"' });
      }
    }
    res.type(registry.contentType).send(await registry.metrics());
  };
}

export function opsLayer(store: TaskStore, options: OpsOptions): { before: RequestHandler[]; routes: Router } {
  const auth = new KeyAuthenticator({ ...options.auth, keys: store.keys });
  const routes = Router();
  routes.route('/metrics').get(metricsRoute(options.metricsKey)).all(allowOnly('GET'));
  routes.route('/dashboard').get((_req, res) => void res.type('html').set('cache-control', 'no-cache').send(dashboardPage)).all(allowOnly('GET'));
  routes.use('/stats', statsRouter({ usage: store.usage, flush: options.flushUsage }));
  routes.use('/admin', adminRouter({ keys: store.keys, onRevoke: () => auth.forget() }));
  // With AUTH=off and no rate rules those layers would only pass every request on: they are left out.
  const before: RequestHandler[] = [observe];
  if (options.auth.mode !== 'off') before.push(auth.middleware());
  if (options.rateRules.length) before.push(rateLimiter(options.rateRules, options.buckets ?? new MemoryTokenBuckets()));
  return { before, routes };
}
