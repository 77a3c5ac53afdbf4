import { gzipSync } from 'node:zlib';
import { parseSitemap, sitemapLocations, sitemapText } from '../../../src/crawl/sitemap.js';

describe('sitemaps', () => {
  it('reads the page URLs of a urlset, entities decoded', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
      <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
        <url><loc> https://example.com/a?x=1&amp;y=2 </loc><lastmod>2024-01-01</lastmod></url>
        <url><loc>https://example.com/b</loc></url>
        <url><loc></loc></url>
      </urlset>`;
    expect(parseSitemap(xml)).toEqual({ kind: 'urlset', locs: ['https://example.com/a?x=1&y=2', 'https://example.com/b'] });
  });

  it('reads the sitemaps of an index, namespace prefixes and CDATA included', () => {
    const xml = `<sm:sitemapindex xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9">
        <sm:sitemap><sm:loc>https://example.com/s1.xml</sm:loc></sm:sitemap>
        <sm:sitemap><sm:loc><![CDATA[https://example.com/s2.xml.gz]]></sm:loc></sm:sitemap>
      </sm:sitemapindex>`;
    expect(parseSitemap(xml)).toEqual({ kind: 'index', locs: ['https://example.com/s1.xml', 'https://example.com/s2.xml.gz'] });
  });

  it('is not fooled by what is not a sitemap', () => {
    expect(parseSitemap('<html><body>not found</body></html>')).toEqual({ kind: 'unknown', locs: [] });
    expect(parseSitemap('garbage <<<')).toEqual({ kind: 'unknown', locs: [] });
  });

  it('gunzips a gzipped body whatever its type, within the byte cap', () => {
    const xml = '<urlset><url><loc>https://example.com/z</loc></url></urlset>';
    expect(sitemapText(gzipSync(xml), 1_000)).toBe(xml);
    expect(sitemapText(Buffer.from(xml), 1_000)).toBe(xml);
    expect(() => sitemapText(gzipSync('x'.repeat(10_000)), 1_000)).toThrow(/not readable within 1000 bytes/);
  });

  it('looks in robots.txt Sitemap: lines and at /sitemap.xml', () => {
    expect(sitemapLocations('https://example.com', [])).toEqual(['https://example.com/sitemap.xml']);
    expect(sitemapLocations('https://example.com', ['https://example.com/s.xml', 'https://example.com/s.xml']))
      .toEqual(['https://example.com/s.xml', 'https://example.com/sitemap.xml']);
  });
});
