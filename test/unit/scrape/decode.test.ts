import { charsetOf, decodeHtml } from '../../../src/scrape/decode.js';

// 'Привет' in windows-1251, written out byte by byte so the test does not depend on an encoder.
const PRIVET_1251 = Buffer.from([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]);
const page = (head: string, body: Buffer) => Buffer.concat([Buffer.from(`<html><head>${head}</head><body><p>`), body, Buffer.from('</p></body></html>')]);

describe('decodeHtml', () => {
  it('reads the charset from <meta charset> when the header names none', () => {
    const html = decodeHtml(page('<meta charset="windows-1251">', PRIVET_1251), 'text/html');
    expect(html).toContain('<p>Привет</p>');
  });

  it('reads the charset from <meta http-equiv>', () => {
    const html = decodeHtml(page('<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">', PRIVET_1251));
    expect(html).toContain('Привет');
  });

  it('prefers the HTTP charset over <meta>', () => {
    const html = decodeHtml(page('<meta charset="utf-8">', PRIVET_1251), 'text/html; charset=windows-1251');
    expect(html).toContain('Привет');
  });

  it('prefers a BOM over everything', () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), page('<meta charset="windows-1251">', Buffer.from('Привет', 'utf8'))]);
    const html = decodeHtml(body, 'text/html; charset=iso-8859-1');
    expect(html).toContain('Привет');
    expect(html.charCodeAt(0)).not.toBe(0xfeff);
  });

  it('takes undeclared valid UTF-8 as UTF-8', () => {
    expect(decodeHtml(page('', Buffer.from('naïve café — ✓', 'utf8')))).toContain('naïve café — ✓');
  });

  it('takes undeclared bytes that are not UTF-8 as windows-1252', () => {
    expect(decodeHtml(page('', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x80])))).toContain('café€');
  });

  it('ignores an unknown charset label', () => {
    expect(decodeHtml(page('', Buffer.from('żółw', 'utf8')), 'text/html; charset=no-such-thing')).toContain('żółw');
  });
});

describe('charsetOf', () => {
  it.each([
    ['text/html; charset=UTF-8', 'UTF-8'],
    ['text/html;charset="windows-1251"', 'windows-1251'],
    ['text/html; Charset = koi8-r ; foo=bar', 'koi8-r'],
    ['text/html', undefined],
    [undefined, undefined],
  ])('%s → %s', (header, charset) => {
    expect(charsetOf(header)).toBe(charset);
  });
});
