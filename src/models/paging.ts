/** Paging rules shared by the batch stores: the limit range, and a page from limit + 1 rows. */
import type { Page } from './task.js';

export const MAX_PAGE_LIMIT = 1000;

export function checkPageLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new RangeError(`limit must be an integer in 1..${MAX_PAGE_LIMIT}, got ${limit}`);
  }
}

/** `items` was read with limit + 1: the extra one only says that there is a next page. */
export function pageOf<T>(items: T[], limit: number, cursorOf: (last: T) => string): Page<T> {
  if (items.length <= limit) return { items };
  const page = items.slice(0, limit);
  return { items: page, nextCursor: cursorOf(page[page.length - 1] as T) };
}
