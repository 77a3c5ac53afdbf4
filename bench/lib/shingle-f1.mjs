/**
 * The article-body score of scrapinghub/article-extraction-benchmark (its evaluate.py, ported line for line):
 * 4-word shingles of the extracted text against the annotated `articleBody`; per page, true positives,
 * false positives and false negatives are shingle counts normalised to sum to 1 (so long pages weigh no
 * more than short ones); precision and recall are the means over pages, F1 is computed from those two means.
 * Python's `\w` (str.isalnum() or `_`) is `[\p{L}\p{N}_]` here; combining marks split words in both.
 */

const TOKEN = /[\p{L}\p{N}_]+/gu;

export const tokenize = (text) => (text ?? '').match(TOKEN) ?? [];

function shingles(text, n) {
  const tokens = tokenize(text);
  const counts = new Map();
  // As evaluate.py: a text shorter than n words is one (shorter) shingle; an empty one has none.
  for (let i = 0; i < Math.max(1, tokens.length - n + 1); i++) {
    const shingle = tokens.slice(i, i + n);
    if (!shingle.length) continue;
    const key = shingle.join('\u0000');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** One page: [tp, fp, fn] as fractions of their sum (all 0 when both texts are empty). */
export function shingleMatch(truth, predicted, n = 4) {
  const t = shingles(truth, n);
  const p = shingles(predicted, n);
  let tp = 0, fp = 0, fn = 0;
  for (const key of new Set([...t.keys(), ...p.keys()])) {
    const tc = t.get(key) ?? 0;
    const pc = p.get(key) ?? 0;
    tp += Math.min(tc, pc);
    fp += Math.max(0, pc - tc);
    fn += Math.max(0, tc - pc);
  }
  const s = tp + fp + fn;
  return s > 0 ? [tp / s, fp / s, fn / s] : [0, 0, 0];
}

const precisionOf = ([tp, fp, fn]) => (fp === 0 && fn === 0 ? 1 : tp === 0 && fp === 0 ? 0 : tp / (tp + fp));
const recallOf = ([tp, fp, fn]) => (fp === 0 && fn === 0 ? 1 : tp === 0 && fn === 0 ? 0 : tp / (tp + fn));
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Precision, recall and F1 over pages' [tp, fp, fn], as evaluate.py's metrics_from_tp_fp_fns. */
export function metricsOf(pages) {
  const precision = mean(pages.filter(([tp, fp]) => tp + fp > 0).map(precisionOf));
  const recall = mean(pages.filter(([tp, , fn]) => tp + fn > 0).map(recallOf));
  return { precision, recall, f1: (2 * precision * recall) / (precision + recall) };
}

/** Whole-text accuracy: the same words in the same order. */
export const exactMatch = (truth, predicted) => {
  const a = tokenize(truth);
  const b = tokenize(predicted);
  return a.length === b.length && a.every((w, i) => w === b[i]);
};

/**
 * The ± figures evaluate.py prints: the standard deviation of each metric over bootstrap resamples of the
 * pages. Seeded (mulberry32), so a run's figures are reproducible.
 */
export function bootstrapStd(pages, rounds = 1000, seed = 1) {
  let s = seed >>> 0;
  const random = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const samples = { f1: [], precision: [], recall: [] };
  for (let r = 0; r < rounds; r++) {
    const m = metricsOf(pages.map(() => pages[Math.floor(random() * pages.length)]));
    for (const k of Object.keys(samples)) samples[k].push(m[k]);
  }
  const std = (xs) => {
    const m = mean(xs);
    return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
  };
  return Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, std(xs)]));
}
