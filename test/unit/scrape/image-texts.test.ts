import { extractPage } from '../../../src/scrape/html.js';
import { chooseCaption, isUsefulAlt, MAX_NEARBY_CHARS } from '../../../src/scrape/image-texts.js';

const PAGE = 'https://site.test/a/page.html';
const texts = (html: string) => extractPage(html, PAGE).imageTexts;

describe('image texts', () => {
  it('takes the figcaption of the figure the image is in, before alt and title', () => {
    const t = texts('<figure><img src="/f.png" alt="A red fox" title="fox"><figcaption> The fox at  dawn </figcaption></figure>');
    expect(t['https://site.test/f.png']).toEqual({
      alt: 'A red fox', title: 'fox', figcaption: 'The fox at dawn', nearby: 'The fox at dawn', caption: 'The fox at dawn', captionSource: 'figcaption',
    });
  });

  it('falls back to a useful alt, then to title', () => {
    expect(texts('<p><img src="a.png" alt="Two cats asleep"></p>')['https://site.test/a/a.png']).toMatchObject({ caption: 'Two cats asleep', captionSource: 'alt' });
    const t = texts('<p><img src="b.png" alt="IMG_2041.JPG" title="Harbour at night"></p>')['https://site.test/a/b.png'];
    expect(t).toMatchObject({ alt: 'IMG_2041.JPG', caption: 'Harbour at night', captionSource: 'title' });
    const none = texts('<div><img src="c.png" alt="image"></div>')['https://site.test/a/c.png'];
    expect(none).toEqual({ alt: 'image' });
  });

  it('gives nearby text from the closest enclosing block with text, bounded', () => {
    const long = 'word '.repeat(500);
    const t = texts(`<article><div><span><img src="n.png"></span></div><p>${long}</p></article>`)['https://site.test/a/n.png'];
    expect(t!.nearby!.length).toBeLessThanOrEqual(MAX_NEARBY_CHARS + 1);
    expect(t!.nearby!.startsWith('word word')).toBe(true);
    expect(t!.caption).toBeUndefined();
  });

  it('ignores script text, and the caption of a figure nested inside another', () => {
    const t = texts('<figure><div><script>var x = 1</script><img src="s.png"></div><figure><figcaption>inner</figcaption></figure><figcaption>outer</figcaption></figure>');
    expect(t['https://site.test/a/s.png']).toMatchObject({ figcaption: 'outer', caption: 'outer' });
  });

  it('every URL of an img (src, srcset, lazy attributes) and its picture sources share its text', () => {
    const t = texts('<picture><source srcset="/p.webp 1x, /p2.webp 2x"><img src="/p.jpg" data-src="/lazy.jpg" alt="A bridge"></picture>');
    for (const u of ['/p.webp', '/p2.webp', '/p.jpg', '/lazy.jpg']) expect(t[`https://site.test${u}`]).toMatchObject({ caption: 'A bridge' });
  });

  it('og:image takes og:image:alt; input type=image its alt; an element in the page wins over a meta tag', () => {
    const t = texts('<meta property="og:image" content="/og.png"><meta property="og:image:alt" content="Cover art"><meta property="og:image" content="/both.png"><input type="image" src="/go.png" alt="Go"><img src="/both.png" alt="In the body">');
    expect(t['https://site.test/og.png']).toEqual({ alt: 'Cover art', caption: 'Cover art', captionSource: 'alt' });
    expect(t['https://site.test/both.png']).toMatchObject({ alt: 'In the body' });
    expect(t['https://site.test/go.png']).toMatchObject({ alt: 'Go', caption: 'Go' });
  });

  it('bounds long attributes', () => {
    const t = texts(`<img src="/l.png" alt="${'x'.repeat(5000)}">`)['https://site.test/l.png'];
    expect(t!.alt!.length).toBeLessThanOrEqual(1001);
  });

  it('the caption rule', () => {
    expect(chooseCaption({})).toBeUndefined();
    expect(chooseCaption({ alt: 'logo', title: 't' })).toEqual({ caption: 't', source: 'title' });
    expect(['', 'photo', 'DSC_0001', 'hero-banner.webp', 'a cat'].map(isUsefulAlt)).toEqual([false, false, false, false, true]);
  });
});

describe('rights meta tags', () => {
  it('collects robots, TDMRep and bot-named tags with directives; nothing else', () => {
    const page = extractPage('<meta name="Robots" content="noai"><meta name="GPTBot" content="noimageai"><meta name="description" content="hello"><meta name="tdm-reservation" content="1"><meta name="tdm-policy" content="https://p">', PAGE);
    expect(page.rightsMeta).toEqual([
      { name: 'robots', content: 'noai' }, { name: 'gptbot', content: 'noimageai' }, { name: 'tdm-reservation', content: '1' }, { name: 'tdm-policy', content: 'https://p' },
    ]);
  });
});
