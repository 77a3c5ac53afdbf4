import { createHash } from 'node:crypto';
import { decodeDataUri, inspectImage, looksLikeSvg } from '../../../src/scrape/image-file.js';
import { ScrapeError } from '../../../src/scrape/scrape-error.js';
import { gif, jpeg, png } from '../../fixtures/images.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('inspectImage', () => {
  it('recognises a PNG with its size and hash', async () => {
    const body = png(7, 5);
    expect(await inspectImage(body)).toEqual({ mime: 'image/png', ext: 'png', width: 7, height: 5, sha256: sha256(body) });
  });

  it('recognises a GIF', async () => {
    expect(await inspectImage(gif())).toMatchObject({ mime: 'image/gif', ext: 'gif', width: 1, height: 1 });
  });

  it('recognises a JPEG', async () => {
    expect(await inspectImage(jpeg(640, 480))).toMatchObject({ mime: 'image/jpeg', ext: 'jpg', width: 640, height: 480 });
  });

  it('gives different hashes for different bytes', async () => {
    const [a, b] = await Promise.all([inspectImage(png(2, 2, 1)), inspectImage(png(2, 2, 2))]);
    expect(a.sha256).not.toBe(b.sha256);
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('recognises SVG, with or without prolog and doctype', async () => {
    const plain = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="30" height="20"><rect/></svg>');
    expect(await inspectImage(plain)).toMatchObject({ mime: 'image/svg+xml', ext: 'svg', width: 30, height: 20, sha256: sha256(plain) });
    const prolog = Buffer.from(
      '\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<!-- licence: CC0 -->\n' +
        '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n' +
        '<svg viewBox="0 0 100 50" xmlns="http://www.w3.org/2000/svg"></svg>',
    );
    expect(await inspectImage(prolog)).toMatchObject({ mime: 'image/svg+xml', ext: 'svg' });
  });

  it('refuses HTML, text and other files as not_an_image', async () => {
    for (const body of [
      Buffer.from('<!DOCTYPE html><html><body><svg></svg></body></html>'),
      Buffer.from('just some text'),
      Buffer.from('%PDF-1.4\n%âãÏÓ\n1 0 obj\n<<>>\nendobj\n'),
      Buffer.alloc(0),
    ]) {
      const err = await inspectImage(body).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ScrapeError);
      expect(err).toMatchObject({ code: 'not_an_image' });
    }
  });

  it('keeps an image whose size cannot be read', async () => {
    // A JPEG start with no frame header: the type is certain, the size unknowable.
    const body = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xdb, 0x00, 0x04]), Buffer.alloc(32)]);
    const info = await inspectImage(body);
    expect(info).toMatchObject({ mime: 'image/jpeg', ext: 'jpg' });
    expect(info.width).toBeUndefined();
    expect(info.height).toBeUndefined();
  });
});

describe('looksLikeSvg', () => {
  it.each([
    ['<svg></svg>', true],
    ['  \n<svg:svg xmlns:svg="http://www.w3.org/2000/svg"/>', true],
    ['<?xml version="1.0"?><svg/>', true],
    ['<?xml version="1.0"?><html/>', false],
    ['<html><svg></svg></html>', false],
    ['<svgfoo>', false],
  ])('%j → %s', (text, expected) => {
    expect(looksLikeSvg(Buffer.from(text))).toBe(expected);
  });
});

describe('decodeDataUri', () => {
  it('decodes base64', () => {
    const body = png(3, 3);
    expect(decodeDataUri(`data:image/png;base64,${body.toString('base64')}`)).toEqual(body);
  });

  it('tolerates whitespace and missing padding in base64', () => {
    expect(decodeDataUri('data:image/gif;base64,R0lG\n ODlh')).toEqual(Buffer.from('GIF89a'));
    expect(decodeDataUri('data:image/gif;base64,YQ')).toEqual(Buffer.from('a'));
  });

  it('decodes percent-encoding', () => {
    expect(decodeDataUri('data:image/svg+xml,%3Csvg%20xmlns%3D%22http://www.w3.org/2000/svg%22/%3E')?.toString()).toBe(
      '<svg xmlns="http://www.w3.org/2000/svg"/>',
    );
    expect(decodeDataUri('data:image/svg+xml;utf8,<svg>ü</svg>')?.toString()).toBe('<svg>ü</svg>');
  });

  it('returns null for what is not a data: URI or not valid base64', () => {
    expect(decodeDataUri('https://example.com/a.png')).toBeNull();
    expect(decodeDataUri('data:image/png;base64')).toBeNull();
    expect(decodeDataUri('data:image/png;base64,@@@@')).toBeNull();
    expect(decodeDataUri('data:image/png;base64,AAAAA')).toBeNull();
  });
});
