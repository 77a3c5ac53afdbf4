import { compilePattern, crawlScope, globToRE2 } from '../../../src/crawl/crawl-scope.js';

const spec = { url: 'https://www.example.com/', maxDepth: 2, include: [] as string[], exclude: [] as string[], sameSite: true };

describe('crawl patterns', () => {
  it('globs match the whole URL: ** anything, * within a path segment, ? one character', () => {
    const blog = compilePattern('https://example.com/blog/**');
    expect(blog('https://example.com/blog/2024/post')).toBe(true);
    expect(blog('https://example.com/about')).toBe(false);
    const one = compilePattern('https://example.com/blog/*');
    expect(one('https://example.com/blog/post')).toBe(true);
    expect(one('https://example.com/blog/2024/post')).toBe(false);
    expect(compilePattern('https://example.com/p?')('https://example.com/p1')).toBe(true);
    // Regex characters in a glob are literal.
    expect(globToRE2('https://a.com/x+(y)').test('https://a.com/x+(y)')).toBe(true);
    expect(globToRE2('https://a.com/x+(y)').test('https://abcom/xx(y)')).toBe(false);
  });

  it('/…/flags is a regular expression searched anywhere in the URL', () => {
    expect(compilePattern('/\\/post-\\d+$/')('https://example.com/blog/post-12')).toBe(true);
    expect(compilePattern('/BLOG/i')('https://example.com/blog/x')).toBe(true);
    expect(compilePattern('/BLOG/')('https://example.com/blog/x')).toBe(false);
  });

  it('matches in time linear in the URL: patterns that backtrack catastrophically in JavaScript finish at once', () => {
    // Each of these takes a backtracking engine 2^n (or n^k) steps on such a URL: minutes, where RE2 answers
    // in well under a millisecond. Were the guard gone, this test would run into jest's timeout.
    const url = `https://example.com/${'a'.repeat(5000)}!`;
    expect(compilePattern('/(a+)+$/')(url)).toBe(false);
    expect(compilePattern('/^(\\w|a)*$/')(url)).toBe(false);
    expect(compilePattern(`https://example.com/${'**a'.repeat(40)}**b`)(url)).toBe(false);
    expect(compilePattern(`https://example.com/${'**a'.repeat(40)}**!`)(url)).toBe(true);
  });

  it('refuses bad patterns with a message for the user', () => {
    expect(() => compilePattern('/(unclosed/')).toThrow(/not a valid regular expression/);
    expect(() => compilePattern('/(a)\\1/')).toThrow(/RE2 syntax: no backreferences or lookaround/);
    expect(() => compilePattern('/a(?=b)/')).toThrow(/RE2 syntax/);
    expect(() => compilePattern('/x/g')).toThrow(/flags i and u/);
    expect(() => compilePattern('')).toThrow(/empty/);
    expect(() => compilePattern('x'.repeat(501))).toThrow(/at most 500/);
  });
});

describe('crawlScope', () => {
  it('stays on the start host (www. ignored) and within max depth', () => {
    const scope = crawlScope(spec);
    expect(scope.admits('https://example.com/a', 1)).toBe(true);
    expect(scope.admits('http://www.example.com/a', 2)).toBe(true);
    expect(scope.admits('https://example.com/a', 3)).toBe(false);
    expect(scope.admits('https://other.test/a', 1)).toBe(false);
    expect(scope.admits('https://sub.example.com/a', 1)).toBe(false);
    expect(crawlScope({ ...spec, sameSite: false }).admits('https://other.test/a', 1)).toBe(true);
  });

  it('follows URLs matching an include pattern (if any) and no exclude pattern', () => {
    const scope = crawlScope({ ...spec, include: ['https://example.com/docs/**', '/\\/news\\//'], exclude: ['**/private/**', '/\\.pdf$/i'] });
    expect(scope.admits('https://example.com/docs/a', 1)).toBe(true);
    expect(scope.admits('https://example.com/x/news/1', 1)).toBe(true);
    expect(scope.admits('https://example.com/blog/a', 1)).toBe(false);
    expect(scope.admits('https://example.com/docs/private/a', 1)).toBe(false);
    expect(scope.admits('https://example.com/docs/a.PDF', 1)).toBe(false);
  });
});
