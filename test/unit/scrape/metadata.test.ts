import { load } from 'cheerio/slim';
import { countWords, detectLanguage, primaryLanguage } from '../../../src/scrape/language.js';
import { extractMetadata, isoDate } from '../../../src/scrape/metadata.js';

const meta = (html: string, url = 'https://example.com/a/b.html') => extractMetadata(load(html).root()[0]!, url);

describe('page metadata', () => {
  it('prefers JSON-LD (in an @graph too) over meta tags, and joins several authors', () => {
    const m = meta(`<html><head>
      <meta property="og:title" content="OG title"><meta name="author" content="Meta Name">
      <script type="application/ld+json">{"@graph": [{"@type": "WebSite", "name": "Site"},
        {"@type": ["Article"], "headline": "LD headline", "author": [{"name": "A"}, {"name": "B"}], "datePublished": "2023-01-02",
         "license": "https://creativecommons.org/licenses/by/4.0/"}]}</script></head></html>`);
    expect(m).toMatchObject({ title: 'LD headline', author: 'A, B', published: '2023-01-02', siteName: 'Site', license: 'https://creativecommons.org/licenses/by/4.0/' });
  });

  it('falls back to meta tags, then <title>, and survives broken JSON-LD', () => {
    const m = meta(`<html lang="fr-CA"><head><title> Plain  title </title>
      <script type="application/ld+json">{ not json </script>
      <meta name="description" content="About it"><meta property="article:published_time" content="2021-06-01T12:00:00Z">
      <meta property="og:site_name" content="Le Site"></head><body><h1>H1</h1></body></html>`);
    expect(m).toEqual({ title: 'Plain title', description: 'About it', published: '2021-06-01T12:00:00.000Z', siteName: 'Le Site', language: 'fr-CA' });
  });

  it('resolves canonical and licence links against the page, and finds a Creative Commons link in the body', () => {
    expect(meta('<link rel="canonical" href="/c"><a rel="license" href="../lic.html">licence</a>')).toMatchObject({
      canonicalUrl: 'https://example.com/c', license: 'https://example.com/lic.html',
    });
    expect(meta('<p>Text under <a href="https://creativecommons.org/licenses/by-sa/3.0/de/">CC BY-SA</a></p>').license).toBe(
      'https://creativecommons.org/licenses/by-sa/3.0/de/',
    );
    expect(meta('<a href="https://creativecommons.org/">about CC</a>').license).toBeUndefined();
    expect(meta('<link rel="canonical" href="javascript:alert(1)">').canonicalUrl).toBeUndefined();
  });

  it('reads microdata and rel=author when nothing better is there', () => {
    const m = meta('<article><h2 itemprop="headline">Micro</h2><a rel="author" href="/u">Ann Writer</a><time itemprop="datePublished" datetime="2020-02-03T04:05:06+02:00">x</time></article>');
    expect(m).toMatchObject({ title: 'Micro', author: 'Ann Writer', published: '2020-02-03T02:05:06.000Z' });
  });

  it('normalises dates to ISO 8601, keeping what does not parse as given and dropping absurd years', () => {
    expect(isoDate('2024-03-05')).toBe('2024-03-05');
    expect(isoDate('Tue, 05 Mar 2024 10:00:00 GMT')).toBe('2024-03-05T10:00:00.000Z');
    expect(isoDate('5. März 2024')).toBe('5. März 2024');
    expect(isoDate('0001-01-01T00:00:00Z')).toBeUndefined();
  });
});

describe('language and words', () => {
  it('names the language of a text as ISO 639-1', async () => {
    expect(await detectLanguage('Der Gemeinderat hat am Dienstag beschlossen, die alten Lagerhäuser am Hafen in eine Bibliothek umzuwandeln.')).toBe('de');
    expect(await detectLanguage('The council voted on Tuesday to turn the old harbour warehouses into a public library.')).toBe('en');
    expect(await detectLanguage('Le conseil municipal a voté mardi pour transformer les anciens entrepôts du port en bibliothèque.')).toBe('fr');
    expect(await detectLanguage('ok 12')).toBeUndefined();
    expect(primaryLanguage('de-AT')).toBe('de');
    expect(primaryLanguage('x-klingon')).toBeUndefined();
  });

  it('counts words, and Chinese or Japanese characters one by one', () => {
    expect(countWords("It's a well-known fact: 42 cats, 7 dogs.")).toBe(8);
    expect(countWords('東京は大きい city')).toBe(7);
    expect(countWords('')).toBe(0);
  });
});
