/**
 * Whether a running export still has a process building it. An export is built in the API process that
 * started it, which renews its heartbeat while it builds; when that process dies (in a cluster, a replica
 * others outlive) the export would stay `running` for ever, so one whose heartbeat is older than the
 * stale limit is failed as interrupted by whoever reads it.
 */
import type { ExportRecord } from './batch.js';

export const EXPORT_INTERRUPTED = { code: 'interrupted', message: 'the service stopped while building this export: start another' } as const;

/** How often a builder renews its export's heartbeat, for a stale limit: several renewals fit in one. */
export const heartbeatEveryMs = (staleMs: number): number => Math.max(1, Math.floor(staleMs / 4));

/** Running, and no sign of life from its builder for longer than `staleMs` (an export from before heartbeats: since its creation). */
export function isExportInterrupted(exp: ExportRecord, nowMs: number, staleMs: number): boolean {
  if (exp.status !== 'running') return false;
  const alive = Date.parse(exp.heartbeatAt ?? exp.createdAt);
  return !(nowMs - alive <= staleMs);
}
