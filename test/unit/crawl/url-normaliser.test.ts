import { isTrackingParam, normaliseUrl } from '../../../src/crawl/url-normaliser.js';

describe('normaliseUrl', () => {
  it('drops fragments and default ports and lower-cases the host', () => {
    expect(normaliseUrl('HTTP://Example.COM:80/a/b#part')).toBe('http://example.com/a/b');
    expect(normaliseUrl('https://example.com:443/?q=1#x')).toBe('https://example.com/?q=1');
    expect(normaliseUrl('https://example.com:8443/x')).toBe('https://example.com:8443/x');
  });

  it('resolves relative links against their page, dot segments included', () => {
    expect(normaliseUrl('../c/./d?x=1', 'http://example.com/a/b/page')).toBe('http://example.com/a/c/d?x=1');
    expect(normaliseUrl('  /x\n', 'http://example.com/a')).toBe('http://example.com/x');
  });

  it('removes an empty query and a trailing dot of the host', () => {
    expect(normaliseUrl('http://example.com./a?')).toBe('http://example.com/a');
  });

  it('refuses what is not a crawlable URL', () => {
    expect(normaliseUrl('mailto:a@example.com')).toBeUndefined();
    expect(normaliseUrl('javascript:void(0)', 'http://example.com/')).toBeUndefined();
    expect(normaliseUrl('http://user:pw@example.com/')).toBeUndefined();
    expect(normaliseUrl('http://')).toBeUndefined();
    expect(normaliseUrl('')).toBeUndefined();
  });

  it('strips common tracking parameters only when asked, keeping the others in order', () => {
    const url = 'https://example.com/p?utm_source=x&id=7&gclid=abc&fbclid=1&b=2&UTM_Medium=m';
    expect(normaliseUrl(url)).toBe(url);
    expect(normaliseUrl(url, undefined, { stripTrackingParams: true })).toBe('https://example.com/p?id=7&b=2');
    expect(normaliseUrl('https://example.com/p?utm_source=x', undefined, { stripTrackingParams: true })).toBe('https://example.com/p');
  });

  it('knows the tracking parameters', () => {
    for (const p of ['utm_campaign', 'gclid', 'fbclid', 'msclkid', 'mc_eid', '_ga']) expect(isTrackingParam(p)).toBe(true);
    for (const p of ['id', 'page', 'q', 'utm']) expect(isTrackingParam(p)).toBe(false);
  });
});
