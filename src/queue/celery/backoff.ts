export interface Backoff {
  minMs: number;
  maxMs: number;
}

/** Exponential backoff with jitter: attempt 0 waits about minMs, each further attempt about twice as long, capped at maxMs. */
export function backoffDelay(attempt: number, { minMs, maxMs }: Backoff): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  // Jitter in the upper half keeps a fleet of workers from reconnecting in lockstep.
  return Math.max(minMs, Math.round(ceiling * (0.5 + Math.random() * 0.5)));
}

/** Rejects with `message` if `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), Math.max(0, ms));
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
