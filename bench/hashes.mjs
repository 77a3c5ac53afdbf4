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
  const { hamming } = await mod(distDir, 'scrape/hamming.js');
  const { decideRights } = await mod(distDir, 'scrape/rights/verdict.js');
  const { xRobotsTagSignals, metaRobotsSignals, tdmHeaderSignals } = await mod(distDir, 'scrape/rights/directive-signals.js');
  const { rightsTokens } = await mod(distDir, 'scrape/rights/tokens.js');

  const picture = (w, h, seed) => {
    const raw = Buffer.alloc(w * h * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 7 + seed * 31 + ((i / (w * 3)) | 0)) & 0xff;
    return sharp(raw, { raw: { width: w, height: h, channels: 3 } });
  };
  // Smooth pictures (gradients and discs, as photos are at 9×8): the noise above makes every hash a coin toss.
  const scene = (w, h, seed) => {
    const raw = Buffer.alloc(w * h * 3);
    const discs = Array.from({ length: 3 }, (_, k) => ({ x: ((seed * 37 + k * 53) % 97) / 97, y: ((seed * 61 + k * 29) % 89) / 89, r: 0.1 + ((seed + k) % 5) / 20, c: (seed * 41 + k * 67) % 256 }));
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const u = x / w;
        const v = y / h;
        const disc = discs.find((d) => Math.hypot(u - d.x, v - d.y) < d.r);
        const base = Math.round(255 * (seed % 2 ? u : 1 - u) * 0.6 + 255 * v * 0.3);
        raw.set(disc ? [disc.c, 255 - disc.c, (disc.c * 3) % 256] : [base, (base + seed * 20) % 256, 255 - base], (y * w + x) * 3);
      }
    }
    return sharp(raw, { raw: { width: w, height: h, channels: 3 } });
  };
  const scenes = [
    ...(await Promise.all(Array.from({ length: 20 }, (_, i) => scene(64, 48, i).png().toBuffer()))),
    ...(await Promise.all(Array.from({ length: 10 }, (_, i) => scene(1280, 853, i).jpeg({ quality: 85 }).toBuffer()))),
  ];
  const small = await Promise.all(Array.from({ length: 40 }, (_, i) => picture(64, 48, i).png().toBuffer()));
  const photos = await Promise.all(Array.from({ length: 10 }, (_, i) => picture(1280, 853, i).jpeg({ quality: 85 }).toBuffer()));
  const words = Array.from({ length: 28_000 }, (_, i) => ['data', 'model', 'page', 'train', 'image', 'text', `w${i % 997}`][i % 7]).join(' ');
  const tokens = rightsTokens('scrapeds', ['GPTBot', 'CCBot', 'Google-Extended', 'ClaudeBot']);
  const meta = [{ name: 'robots', content: 'noai, noimageai' }, { name: 'tdm-reservation', content: '1' }];

  // The dHash before the cells were averaged in JavaScript: libvips made the 9×8 grey image (greyscale + Lanczos).
  const libvipsDhash = async (body) => {
    const px = await sharp(body, { failOn: 'none' }).rotate().flatten({ background: '#ffffff' }).greyscale().resize(9, 8, { fit: 'fill', kernel: 'lanczos3' }).raw().toBuffer();
    const bits = [];
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) bits.push(px[y * 9 + x] > px[y * 9 + x + 1] ? 1 : 0);
    return BigInt(`0b${bits.join('')}`).toString(16).padStart(16, '0');
  };
  const images = async (set) => {
    // As the service calls it: with the size from the file's header.
    const sizes = await Promise.all(set.map((b) => inspectImage(b)));
    const timings = await compare(5, {
      inspect: () => timed(set.length, (i) => inspectImage(set[i])),
      dhash: () => timed(set.length, (i) => dhash(set[i], sizes[i])),
      libvipsDhash: () => timed(set.length, (i) => libvipsDhash(set[i])),
      resize: () => timed(set.length, (i) => resizeImage(set[i], { maxSide: 512, format: 'webp' })),
    });
    return { ms: timings };
  };
  const sceneSizes = await Promise.all(scenes.map((b) => inspectImage(b)));
  const distances = await Promise.all(scenes.map(async (b, i) => hamming(await dhash(b, sceneSizes[i]), await libvipsDhash(b))));
  const text = await compare(5, {
    sha256: () => timed(20, () => createHash('sha256').update(words).digest('hex')),
    simhash: () => timed(20, () => simhash(words)),
  });
  const rights = await compare(5, {
    decide: () => timed(2000, () => decideRights([...xRobotsTagSignals(['noindex, GPTBot: noai'], 'h', tokens, 'page'), ...metaRobotsSignals(meta, 'p', tokens, 'page'), ...tdmHeaderSignals({ 'tdm-reservation': '0' }, 'u')])),
  });
  return {
    small: { count: small.length, bytes: small[0].length, ...(await images(small)) },
    photos: { count: photos.length, bytes: Math.round(photos.reduce((n, b) => n + b.length, 0) / photos.length), ...(await images(photos)) },
    text: { kib: Math.round(Buffer.byteLength(words) / 1024), ms: text },
    rights: { ms: rights },
    bitsFromLibvips: { images: scenes.length, mean: distances.reduce((a, d) => a + d, 0) / distances.length, max: Math.max(...distances) },
  };
}

const ms = (x) => (x < 0.1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x.toFixed(1));

export function hashesSection(H) {
  if (!H || H.error) return `Not measured${H?.error ? `: ${H.error}` : ''} (\`BENCH_ONLY=hashes npm run bench\`).`;
  const vs = (s) => (s.ms.libvipsDhash === undefined ? '—' : `${ms(s.ms.libvipsDhash)} (${(s.ms.libvipsDhash / s.ms.inspect).toFixed(1)}×)`);
  const apart = H.bitsFromLibvips
    ? `Today's dHash and the one libvips made before differ by ${H.bitsFromLibvips.mean.toFixed(1)} bits on average (${H.bitsFromLibvips.max} at most) on ${H.bitsFromLibvips.images} smooth pictures (20 small PNGs, 10 large JPEGs); on the noise images above they are unrelated, as any two resamplings of noise are.`
    : '';
  const row = (name, s) => `| ${name} (${s.count}, ~${Math.round(s.bytes / 1024)} KiB) | ${ms(s.ms.inspect)} | ${ms(s.ms.dhash)} (${(s.ms.dhash / s.ms.inspect).toFixed(1)}×) | ${vs(s)} | ${ms(s.ms.resize)} (${(s.ms.resize / s.ms.inspect).toFixed(1)}×) |`;
  return [
    'Milliseconds per item, one at a time on the main thread (sharp works on the libuv pool), median of 5 interleaved rounds; × is against the baseline in the same run.',
    '',
    '| images | inspectImage (baseline: sniff + size + sha256) | dHash `phash` | dHash as libvips made it before (9×8 greyscale + Lanczos) | resize to 512 px WebP |',
    '|---|---:|---:|---:|---:|',
    row('64×48 PNG', H.small),
    row('1280×853 JPEG', H.photos),
    '',
    apart,
    '',
    `| text (${H.text.kib} KiB) | sha256 (baseline) | SimHash |`,
    '|---|---:|---:|',
    `| per text | ${ms(H.text.ms.sha256)} | ${ms(H.text.ms.simhash)} (${(H.text.ms.simhash / H.text.ms.sha256).toFixed(0)}×, ${(H.text.kib / 1024 / (H.text.ms.simhash / 1000)).toFixed(1)} MiB/s) |`,
    '',
    `Rights decision for a page's headers and meta (parse 5 signals, decide): ${ms(H.rights.ms.decide)} ms. The rights files cost 3 small requests per origin per hour (cached), not per page.`,
  ].join('\n');
}
