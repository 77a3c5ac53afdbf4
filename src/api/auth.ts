/**
 * AUTH=keys: who is calling (a Bearer API key, the bootstrap ADMIN_API_KEY, or nobody) and whether the
 * route's scope allows it. Routes then read the caller from `callerOf(res)`; with AUTH=off everyone is an
 * anonymous admin. Which scope a route needs is decided here and nowhere else.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { ApiKey, ApiKeyStore, Scope } from '../models/ops-store.js';
import { bearerToken, hashKey, isWellFormedKey, sameKey } from '../ops/api-key.js';
import { ProblemError } from './problem.js';

export interface Caller {
  /** The key's id (owner of what it makes); absent with AUTH=off. */
  keyId?: string;
  scopes: readonly Scope[];
  /** Admin keys (and AUTH=off) see everyone's tasks. */
  admin: boolean;
}

export interface AuthOptions {
  mode: 'off' | 'keys';
  keys: ApiKeyStore;
  /** The bootstrap admin key from the environment. */
  adminKey?: string;
  /** Whether /media/ files need a key (they are content-addressed, so unguessable without one). */
  publicMedia: boolean;
  /** How long a looked-up key is trusted before the store is asked again (revocation delay on other replicas). */
  cacheMs: number;
}

/** The id tasks made with ADMIN_API_KEY belong to. */
export const BOOTSTRAP_ADMIN_ID = 'admin';

const OPEN: Caller = { scopes: ['read', 'write', 'admin'], admin: true };

/** The scope a request needs, or null for routes anyone may call. */
export function requiredScope(method: string, path: string, publicMedia: boolean): Scope | null {
  if (path === '/health' || path === '/openapi.json' || path === '/dashboard' || path.startsWith('/dashboard/')) return null;
  // /metrics has its own token (METRICS_API_KEY), checked by the metrics route.
  if (path === '/metrics') return null;
  if (path.startsWith('/media/') && publicMedia) return null;
  if (path.startsWith('/admin/') || path === '/admin') return 'admin';
  // /stats answers a non-admin key with its own usage only (stats-router.ts).
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? 'read' : 'write';
}

export function callerOf(res: Response): Caller {
  return (res.locals.caller as Caller | undefined) ?? OPEN;
}

/** The owner filter for listing and loading: undefined means everyone's. */
export function ownerFilter(caller: Caller): string | undefined {
  return caller.admin ? undefined : caller.keyId;
}

/** Whether the caller may see a thing owned by `owner`. */
export function canSee(caller: Caller, owner: string | undefined): boolean {
  return caller.admin || owner === caller.keyId;
}

const unauthorized = (detail: string, field = 'authorization', message = detail) =>
  new ProblemError(401, 'Unauthorized', detail, [{ field, message }], { 'www-authenticate': 'Bearer realm="scrapeds"' });

function bearerOf(req: Request): string {
  const header = req.headers.authorization;
  if (!header) throw unauthorized('send an API key: Authorization: Bearer <key>', 'authorization', 'is required');
  const token = bearerToken(header);
  if (!token) throw unauthorized('the Authorization header must be "Bearer <key>"', 'authorization', 'must be "Bearer <key>"');
  return token;
}

export class KeyAuthenticator {
  private readonly cache = new Map<string, { key: ApiKey | null; at: number }>();

  constructor(private readonly options: AuthOptions) {}

  /** Forget cached lookups (after a revocation in this process). */
  forget(): void {
    this.cache.clear();
  }

  async callerFor(req: Request): Promise<Caller> {
    const plain = bearerOf(req);
    if (this.options.adminKey && sameKey(plain, this.options.adminKey)) return { keyId: BOOTSTRAP_ADMIN_ID, scopes: ['admin'], admin: true };
    if (!isWellFormedKey(plain)) throw unauthorized('the API key is malformed (expected sk_ followed by 43 base64url characters)', 'authorization', 'is not a well-formed API key');
    const key = await this.lookup(hashKey(plain));
    if (!key) throw unauthorized('unknown API key', 'authorization', 'is not a known API key');
    if (key.revokedAt) throw unauthorized('this API key was revoked', 'authorization', 'was revoked');
    return { keyId: key.id, scopes: key.scopes, admin: key.scopes.includes('admin') };
  }

  private async lookup(hash: string): Promise<ApiKey | null> {
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && now - hit.at < this.options.cacheMs) return hit.key;
    const key = await this.options.keys.findKeyByHash(hash);
    // Unknown keys are not cached: a flood of made-up keys must not grow the map.
    if (key) {
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(hash, { key, at: now });
    }
    return key;
  }

  /** The middleware: 401 for a missing/wrong/revoked key, 403 for a missing scope. */
  middleware(): RequestHandler {
    return async (req, res, next) => {
      if (this.options.mode === 'off') return next();
      const scope = requiredScope(req.method, req.path, this.options.publicMedia);
      if (!scope) return next();
      const caller = await this.callerFor(req);
      if (!caller.admin && !caller.scopes.includes(scope)) {
        throw new ProblemError(403, 'Forbidden', `this API key lacks the "${scope}" scope needed for ${req.method} ${req.path}`);
      }
      res.locals.caller = caller;
      next();
    };
  }
}
