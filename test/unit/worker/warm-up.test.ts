/** The cluster worker's warm-up: parses a page and hashes an image through the worker's own extractor and hasher, loads the language tables, and never fails the start. */
import { pino } from 'pino';
import { inlineExtractor, type PageExtractor } from '../../../src/scrape/page-extractor.js';
import { inlineHasher, type ImageHasher } from '../../../src/scrape/image-hasher.js';
import { warmUp } from '../../../src/worker/warm-up.js';

describe('warmUp', () => {
  it('parses a page and hashes an image larger than the inline limit', async () => {
    const parsed: string[] = [];
    const hashed: Array<string | undefined> = [];
    const base = inlineExtractor();
    const extractor: PageExtractor = { ...base, extract: async (job, signal) => {
      const page = await base.extract(job, signal);
      parsed.push(page.title ?? '');
      return page;
    } };
    const hasher: ImageHasher = { ...inlineHasher, hash: async (body, size) => {
      const hash = await inlineHasher.hash(body, size);
      hashed.push(hash);
      return hash;
    } };
    const lines: string[] = [];
    await warmUp({ extractor, hasher }, pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }));
    expect(parsed).toEqual(['Warm-up']);
    // The page's text went through the language tables, as a text task's does.
    expect(lines.map((l) => JSON.parse(l) as { msg: string; language?: string })).toEqual([expect.objectContaining({ msg: 'worker warmed up', language: 'en' })]);
    expect(hashed).toHaveLength(1);
    expect(hashed[0]).toMatch(/^[0-9a-f]{16}$/);
  });

  it('resolves when a thread cannot start, saying so, so that the worker consumes anyway', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const broken: PageExtractor = { extract: () => Promise.reject(new Error('thread did not start')), close: async () => {} };
    await expect(warmUp({ extractor: broken, hasher: inlineHasher }, log)).resolves.toBeUndefined();
    expect(lines.join('')).toContain('worker warm-up failed');
  });
});
