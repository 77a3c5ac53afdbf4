import { ARTICLE_PAGE } from '../../fixtures/article-page.js';
import { extractPage, parseSrcset } from '../../../src/scrape/html.js';

const PAGE = 'https://example.com/articles/one.html';

describe('extractPage: text', () => {
  const html = `<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8">
  <title>  Cats &amp; Dogs
  </title>
  <style>body { color: red }</style>
  <script>var secret = "SCRIPT-CONTENT";</script>
  <link rel="stylesheet" href="x.css">
</head>
<body>
  <!-- a comment that must not appear -->
  <nav><ul><li><a href="/">Home</a></li><li><a href="/about">About   us</a></li></ul></nav>
  <h1>The   <em>big</em> title</h1>
  <p>First paragraph with <b>bold</b>,
     <i>italic</i> and an entity: caf&eacute; &lt;tag&gt; &#x2713; &nbsp;end.</p>
  <div>A div<div>nested div</div>tail</div>
  <p>Line one<br>Line two<br><br>After a gap</p>
  <script type="application/ld+json">{"SCRIPT-CONTENT": true}</script>
  <noscript>Enable JavaScript NOSCRIPT-CONTENT</noscript>
  <template><p>TEMPLATE-CONTENT</p></template>
  <svg><title>SVG-TITLE</title><text>SVG-TEXT</text></svg>
  <table><tr><th>Name</th><th>Age</th></tr><tr><td>Ann</td><td>31</td></tr></table>
  <pre>  code   line 1
code line 2</pre>



  <footer>© 2024 <span>Example</span></footer>
</body>
</html>`;

  const page = extractPage(html, PAGE);

  it('takes the title from <title>', () => {
    expect(page.title).toBe('Cats & Dogs');
  });

  it('gives exactly the readable text, block by block', () => {
    expect(page.text).toBe(
      [
        'Cats & Dogs',
        '',
        'Home',
        'About us',
        '',
        'The big title',
        '',
        'First paragraph with bold, italic and an entity: café <tag> ✓ end.',
        '',
        'A div',
        'nested div',
        'tail',
        '',
        'Line one',
        'Line two',
        '',
        'After a gap',
        '',
        'Name Age',
        'Ann 31',
        '',
        'code line 1',
        'code line 2',
        '',
        '© 2024 Example',
      ].join('\n'),
    );
  });

  it('never includes script, style, noscript, template, svg or comments', () => {
    for (const hidden of ['SCRIPT-CONTENT', 'color: red', 'NOSCRIPT-CONTENT', 'TEMPLATE-CONTENT', 'SVG-', 'comment']) {
      expect(page.text).not.toContain(hidden);
    }
  });

  it('copes with a page without a title and with nothing but whitespace', () => {
    expect(extractPage('<p>  </p>\n\n<div> </div>', PAGE)).toEqual({
      title: undefined, text: '', main: '', markdown: '', metadata: { wordCount: 0 }, images: [], imageTexts: {}, rightsMeta: [], links: [],
    });
  });

  it('extracts the main content and Markdown only when asked, and the rest the same either way', () => {
    const all = extractPage(ARTICLE_PAGE, PAGE);
    const none = extractPage(ARTICLE_PAGE, PAGE, { parts: { main: false, markdown: false } });
    const main = extractPage(ARTICLE_PAGE, PAGE, { parts: { main: true, markdown: false } });
    const markdown = extractPage(ARTICLE_PAGE, PAGE, { parts: { main: false, markdown: true } });
    const { main: mainText, markdown: md, metadata, ...rest } = all;
    const { wordCount, ...declared } = metadata;
    expect(wordCount).toBeGreaterThan(100);
    expect(none).toEqual({ ...rest, metadata: declared });
    expect(main).toEqual({ ...rest, main: mainText, metadata });
    expect(markdown).toEqual({ ...rest, markdown: md, metadata: declared });
    expect(md).toContain('# Harbour warehouses');
  });

  it('survives very deep nesting', () => {
    const deep = '<div>'.repeat(20_000) + 'bottom' + '</div>'.repeat(20_000);
    expect(extractPage(deep, PAGE).text).toBe('bottom');
  });

  it('refuses a page nested deeper than maxDepth with too_large, and takes one exactly that deep', () => {
    const nested = (n: number) => `${'<div>'.repeat(n)}bottom${'</div>'.repeat(n)}<img src="/after.png">`;
    expect(() => extractPage(nested(101), PAGE, { maxDepth: 100 })).toThrow(expect.objectContaining({ code: 'too_large' }));
    // <html> and <body> are not implied by htmlparser2: the <div>s are the whole depth.
    expect(extractPage(nested(100), PAGE, { maxDepth: 100 })).toMatchObject({ text: 'bottom', images: ['https://example.com/after.png'] });
  });
});

describe('extractPage: images', () => {
  it('finds every kind of image reference, in order of first appearance, deduplicated', () => {
    const html = `<html><head>
      <meta property="og:image" content="/og.jpg">
      <meta property="og:image:url" content="https://cdn.example.com/og-url.jpg">
      <meta property="og:image:secure_url" content="https://cdn.example.com/og-secure.jpg">
      <meta name="twitter:image" content="https://cdn.example.com/tw.jpg">
      <link rel="image_src" href="/image-src.png">
      </head><body>
      <img src="a.png">
      <img src="/abs/b.png#fragment" srcset="b-1x.png 1x, b-2x.png 2x,b-3x.png 3x">
      <img src="a.png">
      <picture>
        <source srcset="pic.avif 1x, pic@2x.avif 2x" type="image/avif">
        <source srcset="pic.webp" type="image/webp">
        <img src="pic.jpg">
      </picture>
      <img data-src="lazy.jpg" data-srcset="lazy-400.jpg 400w, lazy-800.jpg 800w">
      <img data-lazy-src="lazy2.jpg"><img data-original="orig.jpg">
      <noscript><img src="noscript.jpg"></noscript>
      <input type="image" src="button.png"><input type="text" src="not-an-image.png">
      <video poster="poster.jpg"><source src="movie.mp4"></video>
      <img src="data:image/png;base64,iVBORw0KGgo=">
      <img src="javascript:alert(1)"><img src="data:text/html,hi"><img src="ftp://example.com/x.png">
      <img src="http://[bad"><img src="">
      <img src="//other.example.org/proto-relative.gif">
      <img src="  spaced.png  ">
    </body></html>`;
    expect(extractPage(html, PAGE).images).toEqual([
      'https://example.com/og.jpg',
      'https://cdn.example.com/og-url.jpg',
      'https://cdn.example.com/og-secure.jpg',
      'https://cdn.example.com/tw.jpg',
      'https://example.com/image-src.png',
      'https://example.com/articles/a.png',
      'https://example.com/abs/b.png',
      'https://example.com/articles/b-1x.png',
      'https://example.com/articles/b-2x.png',
      'https://example.com/articles/b-3x.png',
      'https://example.com/articles/pic.avif',
      'https://example.com/articles/pic@2x.avif',
      'https://example.com/articles/pic.webp',
      'https://example.com/articles/pic.jpg',
      'https://example.com/articles/lazy.jpg',
      'https://example.com/articles/lazy-400.jpg',
      'https://example.com/articles/lazy-800.jpg',
      'https://example.com/articles/lazy2.jpg',
      'https://example.com/articles/orig.jpg',
      'https://example.com/articles/noscript.jpg',
      'https://example.com/articles/button.png',
      'https://example.com/articles/poster.jpg',
      'data:image/png;base64,iVBORw0KGgo=',
      'https://other.example.org/proto-relative.gif',
      'https://example.com/articles/spaced.png',
    ]);
  });

  it('finds images inside <noscript>, the usual lazy-loading fallback', () => {
    const html = '<img class="lazy" data-src="/a.jpg"><noscript><img src="/a.jpg"><img src="/only-in-noscript.jpg"></noscript>';
    expect(extractPage(html, PAGE).images).toEqual(['https://example.com/a.jpg', 'https://example.com/only-in-noscript.jpg']);
  });

  it('resolves against <base href>, itself resolved against the page, wherever it appears', () => {
    const html = '<meta property="og:image" content="og.png"><base href="/static/v2/"><img src="x.png"><img src="/root.png"><base href="/ignored/">';
    expect(extractPage(html, PAGE).images).toEqual([
      'https://example.com/static/v2/og.png',
      'https://example.com/static/v2/x.png',
      'https://example.com/root.png',
    ]);
  });

  it('ignores a <base href> that is not http(s)', () => {
    expect(extractPage('<base href="javascript:void(0)"><img src="x.png">', PAGE).images).toEqual(['https://example.com/articles/x.png']);
  });

  it('keeps the query but not the fragment', () => {
    expect(extractPage('<img src="x.png?w=1&amp;h=2#top">', PAGE).images).toEqual(['https://example.com/articles/x.png?w=1&h=2']);
  });
});

describe('parseSrcset', () => {
  it.each([
    ['a.png', ['a.png']],
    ['a.png 1x, b.png 2x', ['a.png', 'b.png']],
    ['a.png 1x,b.png 2x', ['a.png', 'b.png']],
    ['  a.png   480w ,\n b.png 800w  ', ['a.png', 'b.png']],
    ['https://cdn.example.com/img,w_100,h_50/x.jpg 100w, https://cdn.example.com/img,w_200/x.jpg 200w', [
      'https://cdn.example.com/img,w_100,h_50/x.jpg',
      'https://cdn.example.com/img,w_200/x.jpg',
    ]],
    ['a.png,, b.png', ['a.png', 'b.png']],
    ['a.png (max-width: 10px, foo) 1x, b.png', ['a.png', 'b.png']],
    ['data:image/png;base64,AAAA 1x, b.png 2x', ['data:image/png;base64,AAAA', 'b.png']],
    ['', []],
    [' , ', []],
  ])('%j', (srcset, urls) => {
    expect(parseSrcset(srcset)).toEqual(urls);
  });
});

describe('extractPage links', () => {
  it('collects followable links, resolved against <base>, without fragments, nofollow and non-http links', () => {
    const html = `<html><head><base href="http://example.com/dir/"></head><body>
      <a href="a.html#top">A</a><a href="a.html">A again</a><a href="/b" rel="external nofollow">B</a>
      <a href="mailto:x@example.com">mail</a><a href="javascript:void(0)">js</a><a>no href</a>
      <map><area href="https://other.test/c"></map><a href="HTTP://Example.com:80/d">D</a>
    </body></html>`;
    expect(extractPage(html, 'http://example.com/page').links).toEqual([
      'http://example.com/dir/a.html', 'https://other.test/c', 'http://example.com/d',
    ]);
  });

  it('follows no link of a page whose robots meta tag says nofollow', () => {
    const html = '<html><head><meta name="robots" content="noindex, nofollow"></head><body><a href="/x">x</a></body></html>';
    expect(extractPage(html, 'http://example.com/').links).toEqual([]);
  });
});
