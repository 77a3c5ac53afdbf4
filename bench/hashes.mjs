/**
 * BENCH_ONLY=hashes: what the dataset-quality extras cost per item, against a baseline measured in the
 * same run on the same inputs. dHash and the resized copy against inspectImage (file-type + image-size,
 * what every stored image already costs); SimHash against sha256 of the same text; the rights decision
 * (parse every page-level signal and decide) against nothing but its own per-page time.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { rootRequire } from './lib/root-deps.mjs';

const mod = (distDir, p) => import(pathToFileURL(path.join(distDir, p)).href);

async function timed(n, fn) {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  return Number(process.hrtime.bigint() - t) / 1e6 / n;
}

/** Median of 5 interleaved rounds per measurement, so machine noise hits them alike. */
async function compare(rounds, entries) {
  const samples = Object.fromEntries(Object.keys(entries).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) for (const [k, run] of Object.entries(entries)) samples[k].push(await run());
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.sort((a, b) => a - b)[Math.floor(v.length / 2)]]));
}

export async function hashesRun({ distDir }) {
  const sharp = rootRequire('sharp');
  const { createHash } = await import('node:crypto');
  const { inspectImage } = await mod(distDir, 'scrape/image-file.js');
  const { dhash } = await mod(distDir, 'scrape/image-hash.js');
  const { resizeImage } = await mod(distDir, 'scrape/image-resize.js');
  const { simhash } = await mod(distDir, 'scrape/simhash.js');
  const { decideRights } = await mod(distDir, 'scrape/rights/verdict.js');
  const { xRobotsTagSignals, metaRobotsSignals, tdmHeaderSignals } = await mod(distDir, 'scrape/rights/directive-signals.js');
  const { rightsTokens } = await mod(distDir, 'scrape/rights/tokens.js');

  const picture = (w, h, seed) => {
    const raw = Buffer.alloc(w * h * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 7 + seed * 31 + ((i / (w * 3)) | 0)) & 0xff;
    return sharp(raw, { raw: { width: w, height: h, channels: 3 } });
  };
  const small = await Promise.all(Array.from({ length: 40 }, (_, i) => picture(64, 48, i).png().toBuffer()));
  const photos = await Promise.all(Array.from({ length: 10 }, (_, i) => picture(1280, 853, i).jpeg({ quality: 85 }).toBuffer()));
  const words = Array.from({ length: 28_000 }, (_, i) => ['data', 'model', 'page', 'train', 'image', 'text', `w${i % 997}`][i % 7]).join(' ');
  const tokens = rightsTokens('scrapeds', ['GPTBot', 'CCBot', 'Google-Extended', 'ClaudeBot']);
  const meta = [{ name: 'robots', content: 'noai, noimageai' }, { name: 'tdm-reservation', content: '1' }];

  const images = async (set) =>
    compare(5, {
      inspect: () => timed(set.length, (i) => inspectImage(set[i])),
      dhash: () => timed(set.length, (i) => dhash(set[i])),
      resize: () => timed(set.length, (i) => resizeImage(set[i], { maxSide: 512, format: 'webp' })),
    });
  const text = await compare(5, {
    sha256: () => timed(20, () => createHash('sha256').update(words).digest('hex')),
    simhash: () => timed(20, () => simhash(words)),
  });
  const rights = await compare(5, {
    decide: () => timed(2000, () => decideRights([...xRobotsTagSignals(['noindex, GPTBot: noai'], 'h', tokens, 'page'), ...metaRobotsSignals(meta, 'p', tokens, 'page'), ...tdmHeaderSignals({ 'tdm-reservation': '0' }, 'u')])),
  });
  return {
    small: { count: small.length, bytes: small[0].length, ms: await images(small) },
    photos: { count: photos.length, bytes: Math.round(photos.reduce((n, b) => n + b.length, 0) / photos.length), ms: await images(photos) },
    text: { kib: Math.round(Buffer.byteLength(words) / 1024), ms: text },
    rights: { ms: rights },
  };
}

const ms = (x) => (x < 0.1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x.toFixed(1));

export function hashesSection(H) {
  if (!H || H.error) return `Not measured${H?.error ? `: ${H.error}` : ''} (\`BENCH_ONLY=hashes npm run bench\`).`;
  const row = (name, s) => `| ${name} (${s.count}, ~${Math.round(s.bytes / 1024)} KiB) | ${ms(s.ms.inspect)} | ${ms(s.ms.dhash)} (${(s.ms.dhash / s.ms.inspect).toFixed(1)}×) | ${ms(s.ms.resize)} (${(s.ms.resize / s.ms.inspect).toFixed(1)}×) |`;
  return [
    'Milliseconds per item, one at a time on the main thread (sharp works on the libuv pool), median of 5 interleaved rounds; × is against the baseline in the same run.',
    '',
    '| images | inspectImage (baseline: sniff + size + sha256) | dHash `phash` | resize to 512 px WebP |',
    '|---|---:|---:|---:|',
    row('64×48 PNG', H.small),
    row('1280×853 JPEG', H.photos),
    '',
    `| text (${H.text.kib} KiB) | sha256 (baseline) | SimHash |`,
    '|---|---:|---:|',
    `| per text | ${ms(H.text.ms.sha256)} | ${ms(H.text.ms.simhash)} (${(H.text.ms.simhash / H.text.ms.sha256).toFixed(0)}×, ${(H.text.kib / 1024 / (H.text.ms.simhash / 1000)).toFixed(1)} MiB/s) |`,
    '',
    `Rights decision for a page's headers and meta (parse 5 signals, decide): ${ms(H.rights.ms.decide)} ms. The rights files cost 3 small requests per origin per hour (cached), not per page.`,
  ].join('\n');
}
