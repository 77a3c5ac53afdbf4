import type { ExportRecord } from '../../src/models/batch.js';
import { heartbeatEveryMs, isExportInterrupted } from '../../src/models/export-liveness.js';

const base: ExportRecord = {
  id: 'e1', batchId: 'b1', options: { format: 'jsonl', shardSamples: 1, shardBytes: 1024, includeImages: false },
  status: 'running', createdAt: '2026-11-27T10:00:00.000Z', heartbeatAt: '2026-11-27T10:01:00.000Z', shards: [],
};
const at = (iso: string) => Date.parse(iso);

describe('isExportInterrupted', () => {
  it('is a running export whose heartbeat is older than the stale limit', () => {
    expect(isExportInterrupted(base, at('2026-11-27T10:02:00.000Z'), 60_000)).toBe(false);
    expect(isExportInterrupted(base, at('2026-11-27T10:02:00.001Z'), 60_000)).toBe(true);
  });

  it('never is a final export, however old', () => {
    for (const status of ['succeeded', 'failed'] as const) expect(isExportInterrupted({ ...base, status }, at('2030-01-01T00:00:00.000Z'), 60_000)).toBe(false);
  });

  it('counts from its creation for an export made before heartbeats were kept, and an unreadable time as none', () => {
    const { heartbeatAt: _drop, ...legacy } = base;
    expect(isExportInterrupted(legacy, at('2026-11-27T10:00:30.000Z'), 60_000)).toBe(false);
    expect(isExportInterrupted(legacy, at('2026-11-27T10:01:00.001Z'), 60_000)).toBe(true);
    expect(isExportInterrupted({ ...base, heartbeatAt: 'garbage' }, at('2026-11-27T10:01:00.000Z'), 60_000)).toBe(true);
  });

  it('renews several times within one stale limit', () => {
    expect(heartbeatEveryMs(60_000)).toBe(15_000);
    expect(heartbeatEveryMs(2)).toBe(1);
  });
});
