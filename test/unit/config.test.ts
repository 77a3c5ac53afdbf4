import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig: politeness and proxies', () => {
  it('has safe, polite defaults', () => {
    expect(loadConfig({}).fetch).toMatchObject({
      respectRobotsTxt: true,
      perHostConcurrency: 4,
      perHostDelayMs: 0,
      retries: 2,
      retryAfterMaxMs: 60_000,
      proxyUrls: [],
      proxyRotateAfterMs: 300_000,
    });
  });

  it('reads the settings', () => {
    const f = loadConfig({
      RESPECT_ROBOTS_TXT: 'false',
      PER_HOST_CONCURRENCY: '2',
      PER_HOST_DELAY_MS: '250',
      FETCH_RETRIES: '0',
      RETRY_AFTER_MAX_MS: '5000',
      PROXY_URLS: 'http://p1.test:3128, http://user:pw@p2.test:8080',
      PROXY_ROTATE_AFTER_MS: '0',
    }).fetch;
    expect(f).toMatchObject({
      respectRobotsTxt: false,
      perHostConcurrency: 2,
      perHostDelayMs: 250,
      retries: 0,
      retryAfterMaxMs: 5000,
      proxyUrls: ['http://p1.test:3128', 'http://user:pw@p2.test:8080'],
      proxyRotateAfterMs: 0,
    });
  });

  it.each([
    ['PER_HOST_CONCURRENCY', '0'],
    ['FETCH_RETRIES', '-1'],
    ['RESPECT_ROBOTS_TXT', 'maybe'],
    ['PROXY_URLS', 'socks5://p.test:1080'],
  ])('refuses %s=%s, naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it('does not echo proxy credentials in its errors', () => {
    expect(() => loadConfig({ PROXY_URLS: 'ftp://user:hunter2@p.test' })).not.toThrow(/hunter2/);
  });
});

describe('loadConfig: heap growth', () => {
  it('limits it to 50% by default; 0 leaves V8 its own choice', () => {
    expect(loadConfig({}).heapGrowthPercent).toBe(50);
    expect(loadConfig({ HEAP_GROWTH_PERCENT: '0' }).heapGrowthPercent).toBe(0);
    expect(loadConfig({ HEAP_GROWTH_PERCENT: '100' }).heapGrowthPercent).toBe(100);
  });

  it.each(['-1', '1001', 'half'])('refuses HEAP_GROWTH_PERCENT=%s, naming it', (v) => {
    expect(() => loadConfig({ HEAP_GROWTH_PERCENT: v })).toThrow(/HEAP_GROWTH_PERCENT/);
  });
});
