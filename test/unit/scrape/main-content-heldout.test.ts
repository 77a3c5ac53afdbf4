/**
 * A regression floor on held-out real articles: the 181 pages of scrapinghub/article-extraction-benchmark
 * (test/fixtures/article-extraction-benchmark), scored as that benchmark scores (bench/lib/shingle-f1.mjs,
 * whose port of evaluate.py is checked here against figures evaluate.py printed). bench/extract-heldout.mjs
 * reports the same figures beside Readability.
 */
import { decodeHtml } from '../../../src/scrape/decode.js';
import { extractMain } from '../../../src/scrape/html.js';
// @ts-expect-error: a plain ES module of the bench, without type declarations
import { metricsOf, shingleMatch, tokenize } from '../../../bench/lib/shingle-f1.mjs';
// @ts-expect-error: a plain ES module of the bench, without type declarations
import { loadHeldOut } from '../../../bench/extract-heldout.mjs';

type Counts = [number, number, number];
const score = shingleMatch as (truth: string, predicted: string) => Counts;
const metrics = metricsOf as (pages: Counts[]) => { precision: number; recall: number; f1: number };

describe('the article-extraction-benchmark score (a port of its evaluate.py)', () => {
  // Expected values were printed by evaluate.py's own functions on the same inputs.
  const cases: [string, string, Counts][] = [
    ['the quick brown fox jumps over the lazy dog', 'the quick brown fox jumps over a lazy dog', [1 / 3, 1 / 3, 1 / 3]],
    ['Grüße aus Köln, schöne Stadt am Rhein', 'Grüße aus Köln schöne Stadt', [0.5, 0, 0.5]],
    ['one two', 'one two', [1, 0, 0]],
    ['', 'something here now ok', [0, 1, 0]],
    ['a b c d e', '', [0, 0, 1]],
  ];

  it('counts shingles per page as evaluate.py does', () => {
    for (const [truth, predicted, expected] of cases) {
      const got = score(truth, predicted);
      expected.forEach((x, i) => expect(got[i]).toBeCloseTo(x, 12));
    }
  });

  it('averages precision and recall over pages, then takes F1 of the means', () => {
    const m = metrics(cases.map(([t, p]) => score(t, p)));
    expect(m.precision).toBeCloseTo(0.625, 12);
    expect(m.recall).toBeCloseTo(0.5, 12);
    expect(m.f1).toBeCloseTo(0.5555555555555556, 12);
  });

  it('splits words like Python’s \\w (letters, digits, underscore; marks split)', () => {
    expect(tokenize('नमस्ते दुनिया x_y 3.14 l’été')).toEqual(['नमस', 'त', 'द', 'न', 'य', 'x_y', '3', '14', 'l', 'été']);
  });
});

describe('main content on held-out real articles (quality floor)', () => {
  it('keeps F1, precision and recall on all 181 pages at or above the floor', () => {
    const pages: { url: string; articleBody: string; html: string }[] = loadHeldOut(decodeHtml);
    expect(pages).toHaveLength(181);
    const main = metrics(pages.map((p) => score(p.articleBody, extractMain(p.html))));
    // Measured F1 0.963 (P 0.942, R 0.986) when this floor was set; Readability-on-linkedom scores 0.947.
    expect(main.f1).toBeGreaterThanOrEqual(0.955);
    expect(main.precision).toBeGreaterThanOrEqual(0.93);
    expect(main.recall).toBeGreaterThanOrEqual(0.975);
  });
});
