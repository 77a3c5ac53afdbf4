/**
 * The main-content rules one by one, each on a small page: an article of plain paragraphs with one thing
 * that a rule must keep or leave out. The quality on real pages is held by main-content-floor.test.ts and
 * measured by the benchmark.
 */
import { extractMain } from '../../../src/scrape/html.js';

const PROSE = [
  'The council met on Tuesday evening and decided, after a long debate, to convert the old warehouses into a library.',
  'Supporters said the buildings, with their thick walls and high ceilings, were ideal for books and for reading rooms.',
  'Opponents argued that the conversion would cost more than a new building, and that schools needed the money first.',
  'Work is expected to begin next spring, and the library should open, if the schedule holds, the following autumn.',
];

/** A page whose article holds the prose and `extra` (HTML) at `at`: 'start', 'middle' or 'end' of the body. */
function page(extra: string, { at = 'end', header = '' }: { at?: 'start' | 'middle' | 'end'; header?: string } = {}): string {
  const paragraphs = PROSE.map((p) => `<p>${p}</p>`);
  const body = at === 'start' ? [extra, ...paragraphs] : at === 'middle' ? [...paragraphs.slice(0, 2), extra, ...paragraphs.slice(2)] : [...paragraphs, extra];
  return `<!doctype html><html><head><title>Warehouses become a library</title></head><body>
    <nav><a href="/">Home</a> <a href="/news">News</a></nav>
    <article><header><h1>Warehouses become a library</h1>${header}</header><div class="article-body">${body.join('\n')}</div></article>
    <footer><p>© The Example Times, all rights reserved.</p></footer></body></html>`;
}

const main = (html: string) => extractMain(html);

describe('main content: text', () => {
  it('drops soft hyphens and zero-width spaces, which split words', () => {
    const out = main(page('<p>The histo\u00adrical ware\u00adhouses were built in 1880, and they\u200b still stand today.</p>'));
    expect(out).toContain('The historical warehouses were built in 1880, and they still stand today.');
  });

  it('leaves ruby annotations (the reading of each kanji) out of the words they annotate', () => {
    const out = main(page('<p><ruby>法律<rp>(</rp><rt>ほうりつ</rt><rp>)</rp></ruby>ができて、<ruby>親<rt>おや</rt></ruby>が子どもを教育するために、新しい決まりができました。</p>'));
    expect(out).toContain('法律ができて、親が子どもを教育するために、新しい決まりができました。');
    expect(out).not.toContain('ほうりつ');
  });
});

describe('main content: what is left out', () => {
  it('a "See also:" paragraph pointing at another article, in several languages', () => {
    for (const prefix of ['See also:', 'Lea también:', 'Lesen Sie auch:', 'À lire aussi :', 'Czytaj też:']) {
      const out = main(page(`<p>${prefix} <a href="/other">Mayor opens the new bridge over the river</a></p>`, { at: 'middle' }));
      expect([prefix, out]).toEqual([prefix, expect.not.stringContaining('Mayor opens the new bridge')]);
      expect(out).toContain(PROSE[2]);
    }
  });

  it('a short paragraph that is all link (a headline elsewhere), but not a paragraph with a link in it', () => {
    const out = main(page('<p><a href="/other">Mayor opens the new bridge over the river</a></p><p>The plans, <a href="/plans">published last year</a>, show two floors of reading rooms.</p>'));
    expect(out).not.toContain('Mayor opens the new bridge');
    expect(out).toContain('The plans, published last year, show two floors of reading rooms.');
  });

  it('calls to action addressed to the reader', () => {
    const ctas = [
      'Subscribe now to our digital edition for the full story.',
      'Follow us on Twitter and Instagram for the latest news.',
      'For the latest stories download our apps for iOS and Android.',
      'Folgen Sie uns auf Facebook und Instagram!',
      'Suscríbete a nuestro boletín para recibir las noticias.',
    ];
    const out = main(page(ctas.map((c) => `<p><strong>${c}</strong></p>`).join('')));
    for (const c of ctas) expect(out).not.toContain(c);
    expect(out).toContain(PROSE[3]);
  });

  it('photo credits and a date on a line of its own', () => {
    const out = main(page('<p>Credit: Jane Photographer/Agency</p><p>Crédits photos : Agence</p><p>23.10.2018</p><p>March 5, 2024</p>', { at: 'middle' }));
    for (const gone of ['Jane Photographer', 'Agence', '23.10.2018', 'March 5, 2024']) expect(out).not.toContain(gone);
  });

  it('furniture lines: related-links headers, contact and author labels, print and PDF links, publication dates', () => {
    const lines = ['Schon gelesen?', 'Most read', 'Kontakt:', 'About the author', 'Drucken', 'PDF herunterladen', 'Zuletzt aktualisiert: 3. März', 'Permalink'];
    const out = main(page(lines.map((l) => `<div>${l}</div>`).join(''), { at: 'middle' }));
    for (const l of lines) expect([l, out]).toEqual([l, expect.not.stringContaining(l)]);
    expect(out).toContain(PROSE[2]);
  });

  it('caption and source lines set in the text, and cookie or log-in notices', () => {
    const lines = [
      'Abbildung 4: Die Lagerhallen im Jahr 1910, vom Hafen aus gesehen.',
      'Quelle: Statistisches Landesamt, eigene Berechnungen',
      'We use cookies to give you the best experience on our website.',
      'You must be logged in to post a comment.',
    ];
    const out = main(page(lines.map((l) => `<p>${l}</p>`).join(''), { at: 'middle' }));
    for (const l of lines) expect([l, out]).toEqual([l, expect.not.stringContaining(l)]);
  });

  it('a word inside a sentence that happens to be a furniture word', () => {
    const sentence = 'The advice runs after <code>next-line</code> and <code>previous-line</code>, so each line is spoken.';
    expect(main(page(`<p>${sentence}</p>`, { at: 'middle' }))).toContain('The advice runs after next-line and previous-line, so each line is spoken.');
  });

  it('the caption of a figure outside a figcaption, and a caption styled with CSS utility classes', () => {
    const out = main(page(
      '<figure><img src="a.jpg"><span class="description">The warehouses seen from the harbour, in 1910</span></figure>' +
        '<p class="imagedescription text-center">The reading room as the architects imagine it</p>',
      { at: 'middle' },
    ));
    expect(out).not.toContain('seen from the harbour');
    expect(out).not.toContain('as the architects imagine it');
  });

  it('a kicker label above the headline', () => {
    const out = main(page('<div class="kicker">Local politics in the harbour district</div>', { at: 'start' }));
    expect(out).not.toContain('Local politics');
  });
});

describe('main content: what is kept', () => {
  it('a dek: the sentence under the headline, as a lower heading in its header', () => {
    const dek = 'After eleven years of debate the city decides what the old harbour buildings will become';
    const out = main(page('', { header: `<h2>${dek}</h2>` }));
    expect(out).toContain(dek);
    expect(out.indexOf(dek)).toBeLessThan(out.indexOf(PROSE[0]!));
  });

  it('an article cut into parts of the same class by ads', () => {
    const part = (ps: string[], which = '') =>
      `<section class="detail-body ${which}"><div class="body-content">${ps.map((p) => `<p>${p}</p>`).join('')}</div><div class="share"><a href="/s">Share</a></div></section>`;
    const html = `<html><body><main><div class="row"><div class="col">
      <div class="gallery"><img src="a.jpg"></div>
      ${part(PROSE.slice(0, 1), 'first-part')}<div class="ad">Advertisement</div>${part(PROSE.slice(1, 2), 'second-part')}<div class="ad">Advertisement</div>${part([...PROSE.slice(2), ...PROSE, ...PROSE])}
      <section class="notes-list">${'<div class="note"><h2><a href="/x">Another story from today, with a long headline</a></h2><p><a href="/x">More, and more, and more</a></p></div>'.repeat(12)}</section>
      </div></div>
      </main></body></html>`;
    const out = main(html);
    const at = PROSE.slice(0, 3).map((p) => out.indexOf(p));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it('a short table whose cells link to products (ingredients), which is content', () => {
    const table = '<table><tr><td>250 g</td><td><a href="/p/flour">Wheat flour</a></td></tr><tr><td>1 packet</td><td><a href="/p/yeast">Dry yeast</a></td></tr></table>';
    const out = main(page(table, { at: 'middle' }));
    expect(out).toContain('Wheat flour');
    expect(out).toContain('Dry yeast');
  });

  it('an embedded tweet quoted by the article', () => {
    const out = main(page('<blockquote class="twitter-tweet"><p>The new library will be the best thing to happen to the harbour in decades, says the mayor.</p></blockquote>', { at: 'middle' }));
    expect(out).toContain('best thing to happen to the harbour');
  });
});
