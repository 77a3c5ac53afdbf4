/**
 * The fixture site, in its own process on 127.0.0.1: N pages × M images each; a share of each page's images
 * comes from a pool common to all pages, the rest are the page's own. Prints {"port": …} when listening.
 * With `linksPerPage` > 0 it is also a site to crawl: `/` is page 0 and every page links on (see linksOf),
 * and GET /__stats counts the page requests served (`?reset=1` zeroes it).
 *
 *   node bench/fixture-site.mjs '{"pages":200,"imagesPerPage":10,"share":0.3,"imageBytes":2048,"latencyMs":0}'
 *
 * Images are real PNGs (4×4 pixels, so Pillow and image sniffers accept them) padded to `imageBytes` with a
 * tEXt chunk naming the image, so every URL has distinct bytes (distinct sha256).
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { track } from './lib/proc.mjs';

export const defaultSite = { pages: 200, imagesPerPage: 10, share: 0.3, pool: 0, imageBytes: 2048, pageBytes: 16_384, latencyMs: 0, linksPerPage: 0 };

/** What the site holds; the harness and every runner agree on it through this one function. */
export function sitePlan(opts) {
  const p = { ...defaultSite, ...opts };
  const sharedPerPage = Math.round(p.imagesPerPage * p.share);
  const pool = sharedPerPage ? Math.max(p.pool || p.imagesPerPage, sharedPerPage) : 0;
  const imagesOf = (n) => {
    const out = [];
    for (let j = 0; j < sharedPerPage; j++) out.push(`/img/s${(n + j) % pool}.png`);
    for (let j = sharedPerPage; j < p.imagesPerPage; j++) out.push(`/img/p${n}-${j}.png`);
    return out;
  };
  /**
   * Page n links to its children in a `linksPerPage`-ary tree (so a BFS from / reaches every page), one page
   * elsewhere, and the noise a crawler must normalise away: a child linked twice, one with a #fragment, the
   * other page once more with tracking parameters, and home.
   */
  const linksOf = (n) => {
    if (!p.linksPerPage) return [];
    const children = [];
    for (let j = 1; j <= p.linksPerPage && n * p.linksPerPage + j < p.pages; j++) children.push(`/p/${n * p.linksPerPage + j}.html`);
    const other = `/p/${1 + ((n * 7919 + 13) % (p.pages - 1))}.html`;
    return [...children, other, ...children.slice(0, 1), ...children.slice(1, 2).map((c) => `${c}#section-2`), `${other}?utm_source=bench&utm_medium=link`, '/'];
  };
  const usedPool = Math.min(pool, sharedPerPage ? p.pages + sharedPerPage - 1 : 0);
  return {
    ...p,
    pool,
    pagePaths: Array.from({ length: p.pages }, (_, n) => `/p/${n}.html`),
    imagesOf,
    linksOf,
    uniqueImages: usedPool + p.pages * (p.imagesPerPage - sharedPerPage),
    imageRefs: p.pages * p.imagesPerPage,
  };
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const IHDR = chunk('IHDR', Buffer.from([0, 0, 0, 4, 0, 0, 0, 4, 8, 2, 0, 0, 0])); // 4×4 RGB
// Each row: filter byte 0, then 4 grey-ish RGB pixels.
const ROW = Buffer.concat([Buffer.from([0]), Buffer.alloc(4 * 3, 0x80)]);
const IDAT = chunk('IDAT', zlib.deflateSync(Buffer.concat([ROW, ROW, ROW, ROW])));
const IEND = chunk('IEND', Buffer.alloc(0));
const FIXED = SIGNATURE.length + IHDR.length + IDAT.length + IEND.length + 12;

export function png(name, bytes) {
  const keyword = Buffer.from('Comment\0', 'latin1');
  const text = Buffer.concat([keyword, Buffer.alloc(Math.max(name.length + 1, bytes - FIXED - keyword.length), `${name} `, 'latin1')]);
  return Buffer.concat([SIGNATURE, IHDR, chunk('tEXt', text), IDAT, IEND]);
}

const WORDS = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua'.split(' ');

export function pageHtml(plan, n) {
  const imgs = plan.imagesOf(n).map((src, j) => `<figure><img src="${src}" alt="image ${j}"><figcaption>Figure ${j}</figcaption></figure>`);
  const paras = [];
  let size = 0;
  for (let k = 0; size < plan.pageBytes; k++) {
    const words = Array.from({ length: 60 }, (_, w) => WORDS[(n * 31 + k * 7 + w) % WORDS.length]).join(' ');
    const p = `<p>Paragraph ${k} of page ${n}: ${words}.</p>`;
    size += p.length;
    paras.push(p);
  }
  // Interleave images with text so parsers meet them throughout the document.
  const body = [];
  const step = Math.max(1, Math.ceil(paras.length / Math.max(1, imgs.length)));
  for (let k = 0, i = 0; k < paras.length || i < imgs.length; k += step) {
    body.push(...paras.slice(k, k + step));
    if (i < imgs.length) body.push(imgs[i++]);
  }
  return `<!doctype html><html><head><meta charset="utf-8"><title>Page ${n}</title>
<style>body{font-family:sans-serif}</style><script>window.bench=${n};</script></head>
<body><nav><a href="/">home</a>${plan.linksOf(n).map((href, j) => ` <a href="${href.replaceAll('&', '&amp;')}">link ${j}</a>`).join('')}</nav><main><h1>Page ${n}</h1>${body.join('\n')}</main></body></html>`;
}

export function startSite(opts) {
  const plan = sitePlan(opts);
  const delay = (fn) => (plan.latencyMs > 0 ? setTimeout(fn, plan.latencyMs) : fn());
  const stats = { pageRequests: 0, pages: new Set() };
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    let m;
    if (url === '/robots.txt') return res.writeHead(200, { 'content-type': 'text/plain' }).end('User-agent: *\nAllow: /\n');
    if (url.startsWith('/__stats')) {
      const body = JSON.stringify({ pageRequests: stats.pageRequests, distinctPages: stats.pages.size });
      if (url.endsWith('?reset=1')) Object.assign(stats, { pageRequests: 0, pages: new Set() });
      return res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    }
    const page = url === '/' && plan.linksPerPage ? 0 : Number(/^\/p\/(\d+)\.html(?:\?.*)?$/.exec(url)?.[1] ?? NaN);
    if (page < plan.pages) {
      stats.pageRequests++;
      stats.pages.add(page);
      const html = pageHtml(plan, page);
      return delay(() => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html));
    }
    if ((m = /^\/img\/(s\d+|p\d+-\d+)\.png$/.exec(url))) {
      const body = png(m[1], plan.imageBytes);
      return delay(() => res.writeHead(200, { 'content-type': 'image/png', 'content-length': body.length }).end(body));
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: server.address().port, plan })));
}

/** Starts the site in a child process; resolves once it listens. */
export function spawnFixtureSite(opts) {
  const child = track(spawn(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'inherit'] }));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`fixture site exited with ${code}`)));
    readline.createInterface({ input: child.stdout }).once('line', (line) => {
      const { port } = JSON.parse(line);
      resolve({ base: `http://127.0.0.1:${port}`, pid: child.pid, plan: sitePlan(opts), stop: () => child.kill('SIGTERM') });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { port } = await startSite(JSON.parse(process.argv[2] ?? '{}'));
  process.stdout.write(JSON.stringify({ port }) + '\n');
  process.on('SIGTERM', () => process.exit(0));
}
