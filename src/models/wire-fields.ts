/**
 * The wire shapes (snake_case JSON) of page metadata and rights records, and the rule that hides URL
 * credentials: one place for the API's presenters and the dataset exports, so both show the same fields.
 */
import type { RightsRecord } from './rights.js';
import type { PageMetadata } from './task.js';

/**
 * A URL found on a page or in a redirect may carry `user:password@`; it is never shown. (Submitted URLs
 * with credentials are refused at the door.)
 */
export function withoutCredentials(url: string): string {
  if (!url.includes('@') || !URL.canParse(url)) return url;
  const parsed = new URL(url);
  if (!parsed.username && !parsed.password) return url;
  parsed.username = '';
  parsed.password = '';
  return parsed.href;
}

/** A signal's `where` names the URL it came with: without its credentials too. */
export const presentRights = (r?: RightsRecord) => r ? { verdict: r.verdict, signals: r.signals.map((s) => ({ ...s, where: s.where.replace(/\/\/[^/@\s]*@/g, '//') })) } : null;

/** Every key always present (null when the page did not say), so clients and exports see one shape. */
export function presentMetadata(m: PageMetadata | undefined) {
  return {
    title: m?.title ?? null,
    description: m?.description ?? null,
    author: m?.author ?? null,
    published: m?.published ?? null,
    canonical_url: m?.canonicalUrl ?? null,
    site_name: m?.siteName ?? null,
    license: m?.license ?? null,
    language: m?.language ?? null,
    word_count: m?.wordCount ?? null,
  };
}
