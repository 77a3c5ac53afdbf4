/** A small site to crawl on the fixture server: links (some out of scope), robots.txt naming a sitemap index, a gzipped sitemap. */
import { gzipSync } from 'node:zlib';
import type { FixtureSite } from '../fixtures/site.js';

const html = (title: string, links: string[]) =>
  `<!doctype html><html><head><title>${title}</title></head><body><p>${title} text.</p>${links.join(' ')}</body></html>`;
const a = (href: string, rel = '') => `<a href="${href}"${rel ? ` rel="${rel}"` : ''}>${href}</a>`;
const urlset = (urls: string[]) => `<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${urls.map((u) => `<url><loc>${u}</loc></url>`).join('')}</urlset>`;

export interface CrawlSite {
  start: string;
  /** The pages a crawl with max_depth 2, exclude `**\/private/**` and sitemaps on must reach (paths). */
  expected: string[];
}

/**
 * / → /a, /b#x, /a?utm_source=n (same page once tracking parameters are stripped), /private/x (excluded),
 * /nofollow (rel=nofollow), another host; /a → /c; /c → /d (depth 3: beyond max_depth 2); /b → /.
 * robots.txt names /sitemap_index.xml: /sitemap-a.xml (/s/a1, /s/a2) and /sitemap-b.xml.gz (/s/b1, gzipped).
 */
export function serveCrawlSite(site: FixtureSite, otherHost: string): CrawlSite {
  const u = (p: string) => site.url(p);
  const page = (path: string, links: string[]) => site.serve(path, html(path, links), 'text/html; charset=utf-8');
  page('/', [a('/a'), a('/b#x'), a('/a?utm_source=news&utm_medium=mail'), a('/private/x'), a('/nofollow', 'nofollow'), a(`${otherHost}/elsewhere`)]);
  page('/a', [a('/c'), a('/')]);
  page('/b', [a('/')]);
  page('/c', [a('/d')]);
  page('/d', []);
  page('/private/x', []);
  page('/nofollow', []);
  for (const p of ['/s/a1', '/s/a2', '/s/b1']) page(p, [a('/')]);
  site.serve('/robots.txt', `User-agent: *\nAllow: /\n\nSitemap: ${u('/sitemap_index.xml')}\n`, 'text/plain');
  site.serve('/sitemap_index.xml', `<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
    <sitemap><loc>${u('/sitemap-a.xml')}</loc></sitemap><sitemap><loc>${u('/sitemap-b.xml.gz')}</loc></sitemap></sitemapindex>`, 'application/xml');
  site.serve('/sitemap-a.xml', urlset([u('/s/a1'), u('/s/a2#frag')]), 'application/xml');
  site.serve('/sitemap-b.xml.gz', gzipSync(urlset([u('/s/b1')])), 'application/gzip');
  return { start: u('/'), expected: ['/', '/a', '/b', '/c', '/s/a1', '/s/a2', '/s/b1'] };
}
