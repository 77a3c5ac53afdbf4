/**
 * The one backoff strategy registry (after BullMQ's classes/backoffs.ts): every wait between attempts
 * (fetch retries, reconnects, job retries) names a strategy here instead of carrying its own formula.
 */

export type BackoffStrategyName = 'exponential' | 'full_jitter' | 'fixed';

export interface Backoff {
  /** Defaults to 'exponential'. */
  strategy?: BackoffStrategyName;
  /** The first wait (or, for full_jitter, the first ceiling). */
  minMs: number;
  maxMs: number;
}

type Strategy = (attempt: number, minMs: number, maxMs: number, random: () => number) => number;

const ceilingOf = (attempt: number, minMs: number, maxMs: number): number => Math.min(maxMs, minMs * 2 ** Math.min(Math.max(0, attempt), 30));

export const BACKOFF_STRATEGIES: Readonly<Record<BackoffStrategyName, Strategy>> = {
  // Doubles per attempt, jittered in the upper half: a fleet that failed together does not retry in lockstep,
  // and no wait is shorter than minMs (a reconnect loop must not spin).
  exponential: (attempt, minMs, maxMs, random) => Math.max(minMs, Math.round(ceilingOf(attempt, minMs, maxMs) * (0.5 + random() * 0.5))),
  // Uniform in [0, ceiling): the spread AWS's "Exponential Backoff and Jitter" found best for contended clients.
  full_jitter: (attempt, minMs, maxMs, random) => Math.floor(random() * ceilingOf(attempt, minMs, maxMs)),
  fixed: (_attempt, minMs) => minMs,
};

/** How long to wait before attempt number `attempt` (0-based: the first retry is attempt 0). */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  return BACKOFF_STRATEGIES[backoff.strategy ?? 'exponential'](attempt, backoff.minMs, backoff.maxMs, random);
}

/** Rejects with `message` if `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), Math.max(0, ms));
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
