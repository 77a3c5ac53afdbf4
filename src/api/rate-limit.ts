/**
 * Rate limits per API key, client address and path (rules: src/ops/rate-rules.ts), as token buckets
 * (src/ops/token-bucket.ts). Answers carry the IETF RateLimit-Policy / RateLimit headers
 * (draft-ietf-httpapi-ratelimit-headers); a refusal is a 429 problem with Retry-After.
 */
import type { RequestHandler } from 'express';
import { ruleMatches, type RateRule } from '../ops/rate-rules.js';
import { telemetry } from '../ops/telemetry.js';
import type { TakeResult, TokenBuckets } from '../ops/token-bucket.js';
import { callerOf } from './auth.js';
import { ProblemError } from './problem.js';

/** Probes and scrapes must never be limited: an orchestrator would take a busy replica for a dead one. */
const EXEMPT = new Set(['/health', '/metrics']);

const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000));

export function rateLimiter(rules: readonly RateRule[], buckets: TokenBuckets): RequestHandler {
  const specs = new Map(rules.map((r) => [r, { cellMs: r.periodMs / r.count, burst: r.burst }]));
  return async (req, res, next) => {
    if (rules.length === 0 || EXEMPT.has(req.path)) return next();
    const keyId = callerOf(res).keyId;
    const policies: string[] = [];
    let tightest: { rule: RateRule; result: TakeResult } | undefined;
    for (const rule of rules) {
      if (!ruleMatches(rule, req.method, req.path)) continue;
      const subject = rule.per === 'key' ? keyId : req.ip;
      if (!subject) continue; // a per-key rule does not apply without a key (AUTH=off)
      const spec = specs.get(rule)!;
      let result: TakeResult;
      try {
        result = await buckets.take(`${rule.name}:${rule.count}/${rule.periodMs}/${rule.burst}:${rule.per}:${subject}`, spec);
      } catch (err) {
        // The shared store is unreachable: serve rather than refuse everyone; the store's own errors show elsewhere.
        req.log?.warn({ err, rule: rule.name }, 'rate limit store failed; request let through');
        continue;
      }
      policies.push(`"${rule.name}";q=${rule.burst};w=${seconds(rule.burst * spec.cellMs)}`);
      if (!tightest || !result.ok || (tightest.result.ok && result.remaining < tightest.result.remaining)) tightest = { rule, result };
      if (!result.ok) break;
    }
    if (!tightest) return next();
    const { rule, result } = tightest;
    res.set('ratelimit-policy', policies.join(', '));
    res.set('ratelimit', `"${rule.name}";r=${result.remaining};t=${seconds(result.ok ? result.resetMs : result.retryAfterMs)}`);
    if (result.ok) return next();
    telemetry.rateLimited(rule.name);
    const retryAfter = String(Math.max(1, seconds(result.retryAfterMs)));
    throw new ProblemError(429, 'Too Many Requests', `rate limit ${rule.name} (${rule.count} per ${rule.periodMs / 1000} s per ${rule.per}) exceeded; retry in ${retryAfter} s`, undefined, { 'retry-after': retryAfter });
  };
}
