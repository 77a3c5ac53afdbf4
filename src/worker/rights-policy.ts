/**
 * RIGHTS_POLICY applied: `respect` keeps no content of a reserved item (a text task fails with
 * `rights_reserved`, an image is listed as skipped and its bytes are not kept); `record` keeps everything
 * and marks it; `off` reads no signals (the worker then has no RightsDeps at all).
 */
import type { PageInfo, TaskError } from '../models/task.js';
import type { RightsRecord } from '../models/rights.js';
import type { RightsReader } from '../scrape/rights/rights-reader.js';
import { ScrapeError } from '../scrape/scrape-error.js';

export interface RightsDeps {
  reader: RightsReader;
  policy: 'respect' | 'record';
}

/** True when the policy keeps nothing of an item with this record. */
export function withholds(rights: RightsDeps | undefined, record: RightsRecord | undefined): boolean {
  return rights?.policy === 'respect' && record?.verdict === 'reserved';
}

export function reservedMessage(record: RightsRecord): string {
  const by = record.signals.filter((s) => s.effect === 'reserved').slice(0, 3).map((s) => `${s.signal} "${s.value}" (${s.where})`);
  return `the site reserves this item against AI training: ${by.join('; ')}; RIGHTS_POLICY=respect keeps none of it`;
}

export function reservedError(record: RightsRecord): TaskError {
  return { code: 'rights_reserved', message: reservedMessage(record) };
}

/** A text task's failure under `respect`; it carries the page info, so the task still shows what was seen. */
export class RightsReservedError extends ScrapeError {
  constructor(readonly page: PageInfo) {
    super('rights_reserved', reservedMessage(page.rights!));
  }
}
