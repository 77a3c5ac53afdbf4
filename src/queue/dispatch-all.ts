/** Many jobs at once: places taken before their tasks are stored, dispatches overlapping (RabbitMQ confirms are pipelined). */
import pLimit from 'p-limit';
import type { Job, Reservation } from './job-queue.js';

const IN_FLIGHT = 256;

/** Takes `n` places with `take`, or none: after a refusal the places already taken are given back. */
export function reserveMany(n: number, take: () => Reservation): Reservation[] {
  const places: Reservation[] = [];
  try {
    for (let i = 0; i < n; i++) places.push(take());
  } catch (err) {
    for (const p of places) p.release();
    throw err;
  }
  return places;
}

/**
 * Dispatches job i through place i, IN_FLIGHT at a time; after the first failure no further dispatch
 * starts. Places beyond the jobs are released. Returns the jobs not dispatched (in order) and the first error.
 */
export async function dispatchAll(places: Reservation[], jobs: readonly Job[]): Promise<{ undispatched: Job[]; error?: unknown }> {
  for (const extra of places.slice(jobs.length)) extra.release();
  const limit = pLimit(IN_FLIGHT);
  let error: unknown;
  const done = new Uint8Array(jobs.length);
  await Promise.all(jobs.map((job, i) => limit(async () => {
    const place = places[i];
    // More jobs than places (tasks that failed between counting and retrying): those stay undispatched.
    if (!place) return void (error ??= new Error('no place was reserved for the job'));
    if (error !== undefined) return place.release();
    try {
      await place.dispatch(job);
      done[i] = 1;
    } catch (err) {
      error ??= err;
    }
  })));
  if (error === undefined) return { undispatched: [] };
  return { undispatched: jobs.filter((_, i) => done[i] === 0), error };
}
