import robotsParserModule from 'robots-parser';
import { scanRobotsGroups } from '../../../../src/scrape/robots-groups.js';
import { metaRobotsSignals, tdmHeaderSignals, tdmMetaSignals, xRobotsTagSignals } from '../../../../src/scrape/rights/directive-signals.js';
import { matchesPathPattern } from '../../../../src/scrape/rights/path-pattern.js';
import { aiTxtSignals, normaliseAiTxt, parseContentSignal, robotsTxtSignals, type RobotsFileView } from '../../../../src/scrape/rights/robots-signals.js';
import { parseTdmrepFile, tdmrepFileSignals } from '../../../../src/scrape/rights/tdmrep-file.js';
import { rightsTokens } from '../../../../src/scrape/rights/tokens.js';

const robotsParser = robotsParserModule as unknown as typeof robotsParserModule.default;
const tokens = rightsTokens('scrapeds', ['GPTBot', 'CCBot', 'Google-Extended']);
const ORIGIN = 'https://site.test';

function robotsView(body: string, file = 'robots.txt'): RobotsFileView {
  const url = `${ORIGIN}/${file}`;
  return { kind: 'rules', url, robot: robotsParser(`${ORIGIN}/robots.txt`, body), groups: scanRobotsGroups(body) };
}
const effects = (signals: { effect: string; value: string }[]) => signals.map((s) => `${s.value}=${s.effect}`);

describe('path patterns', () => {
  it.each([
    ['/', '/anything', true],
    ['/docs/', '/docs/a', true],
    ['/docs/', '/doc', false],
    ['/*.jpg', '/a/b.jpg', true],
    ['/*.jpg$', '/a/b.jpg?x=1', false],
    ['/*.jpg$', '/a/b.jpg', true],
    ['*', '/x', true],
    ['/a*b*c', '/a--b--c/d', true],
    ['/a*b*c', '/a--c--b', false],
  ])('%s against %s → %s', (pattern, path, expected) => {
    expect(matchesPathPattern(pattern, path)).toBe(expected);
  });

  it('stays linear-ish on hostile patterns of many stars', () => {
    const pattern = `/${'*a'.repeat(200)}b`;
    expect(matchesPathPattern(pattern, `/${'a'.repeat(2000)}`)).toBe(false);
  });
});

describe('robots.txt signals', () => {
  const body = `
User-agent: *
Allow: /

User-agent: GPTBot
Disallow: /articles/
Allow: /articles/open

User-agent: CCBot
Allow: /

User-agent: otherbot
Disallow: /
`;

  it('an AI crawler group that disallows the URL reserves it; one that allows it allows it', () => {
    expect(effects(robotsTxtSignals(robotsView(body), new URL(`${ORIGIN}/articles/x`), tokens))).toEqual(['Disallow=reserved', 'Allow=allowed']);
    expect(effects(robotsTxtSignals(robotsView(body), new URL(`${ORIGIN}/articles/open`), tokens))).toEqual(['Allow=allowed', 'Allow=allowed']);
  });

  it('names the file, line and group it read', () => {
    const [gpt] = robotsTxtSignals(robotsView(body), new URL(`${ORIGIN}/articles/x`), tokens);
    expect(gpt).toEqual({ signal: 'robots.txt', where: `${ORIGIN}/robots.txt line 6 (group "gptbot")`, value: 'Disallow', effect: 'reserved' });
  });

  it('an AI token without a group of its own says nothing (falling back to * is no statement about AI)', () => {
    expect(robotsTxtSignals(robotsView('User-agent: *\nDisallow: /private\n'), new URL(`${ORIGIN}/public`), tokens)).toEqual([]);
  });

  it('our own token disallowed (directly or through *) is recorded as crawling access, neutral; allowed is not recorded', () => {
    const viaStar = robotsTxtSignals(robotsView('User-agent: *\nDisallow: /\n'), new URL(`${ORIGIN}/p`), tokens);
    expect(viaStar).toEqual([expect.objectContaining({ effect: 'none', value: 'Disallow', where: expect.stringContaining('group "*", for "scrapeds"') })]);
    const ours = robotsTxtSignals(robotsView('User-agent: scrapeds\nDisallow: /x\nUser-agent: *\nAllow: /\n'), new URL(`${ORIGIN}/y`), tokens);
    expect(ours).toEqual([]);
  });

  it('an unreachable robots.txt is recorded and says nothing', () => {
    const view: RobotsFileView = { kind: 'unreachable', url: `${ORIGIN}/robots.txt`, reason: 'HTTP 503' };
    expect(robotsTxtSignals(view, new URL(`${ORIGIN}/`), tokens)).toEqual([expect.objectContaining({ effect: 'none', value: 'HTTP 503' })]);
    expect(robotsTxtSignals({ kind: 'absent', url: `${ORIGIN}/robots.txt` }, new URL(`${ORIGIN}/`), tokens)).toEqual([]);
  });
});

describe('Content-Signal', () => {
  it('parses key=value pairs with an optional leading path', () => {
    expect(parseContentSignal('search=yes, ai-train=no')).toEqual({ path: undefined, signals: new Map([['search', 'yes'], ['ai-train', 'no']]) });
    expect(parseContentSignal('/docs/ ai-train=yes')?.path).toBe('/docs/');
    expect(parseContentSignal('ai-train=maybe')).toBeNull();
    expect(parseContentSignal('')).toBeNull();
  });

  it('ai-train=no reserves, ai-train=yes allows, other keys only record', () => {
    const body = 'User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n';
    expect(effects(robotsTxtSignals(robotsView(body), new URL(`${ORIGIN}/a`), tokens))).toEqual(['search=yes, ai-train=no=reserved']);
    const yes = 'User-agent: *\nContent-Signal: ai-train=yes\n';
    expect(effects(robotsTxtSignals(robotsView(yes), new URL(`${ORIGIN}/a`), tokens))).toEqual(['ai-train=yes=allowed']);
    const other = 'Content-Signal: search=yes, ai-input=no\n';
    expect(robotsTxtSignals(robotsView(other), new URL(`${ORIGIN}/a`), tokens)).toEqual([expect.objectContaining({ effect: 'none', note: 'no ai-train preference' })]);
  });

  it('applies in groups for *, us or AI crawlers, not in groups for other bots', () => {
    const body = 'User-agent: Googlebot\nContent-Signal: ai-train=no\nAllow: /\n\nUser-agent: GPTBot\nContent-Signal: ai-train=no\n';
    const signals = robotsTxtSignals(robotsView(body), new URL(`${ORIGIN}/a`), tokens);
    expect(signals.map((s) => [s.effect, s.where])).toEqual([
      ['none', `${ORIGIN}/robots.txt line 2 (group "googlebot")`],
      ['reserved', `${ORIGIN}/robots.txt line 6 (group "gptbot")`],
    ]);
  });

  it('a path-scoped line applies only under its path; a malformed line is recorded and says nothing', () => {
    const body = 'User-agent: *\nContent-Signal: /gallery/ ai-train=no\nContent-Signal: ai-train=nope\n';
    expect(effects(robotsTxtSignals(robotsView(body), new URL(`${ORIGIN}/gallery/1`), tokens))).toEqual(['/gallery/ ai-train=no=reserved', 'ai-train=nope=none']);
    expect(effects(robotsTxtSignals(robotsView(body), new URL(`${ORIGIN}/blog/1`), tokens))).toEqual(['ai-train=nope=none']);
  });
});

describe('X-Robots-Tag', () => {
  it('noai reserves pages and images; noimageai only images; noindex is recorded, neutral', () => {
    expect(effects(xRobotsTagSignals(['noai, noindex'], 'h', tokens, 'page'))).toEqual(['noai=reserved', 'noindex=none']);
    expect(effects(xRobotsTagSignals(['noimageai'], 'h', tokens, 'page'))).toEqual(['noimageai=none']);
    expect(effects(xRobotsTagSignals(['noimageai'], 'h', tokens, 'image'))).toEqual(['noimageai=reserved']);
  });

  it('scopes directives to a bot name until the next one, within one field value', () => {
    expect(effects(xRobotsTagSignals(['googlebot: noai, noindex, GPTBot: noai'], 'h', tokens, 'page'))).toEqual([
      'googlebot: noai=none', 'googlebot: noindex=none', 'GPTBot: noai=reserved',
    ]);
    // Separate fields do not carry a scope over: the second one is unscoped.
    expect(effects(xRobotsTagSignals(['googlebot: noindex', 'noai'], 'h', tokens, 'page'))).toEqual(['googlebot: noindex=none', 'noai=reserved']);
    expect(effects(xRobotsTagSignals(['scrapeds: noai'], 'h', tokens, 'page'))).toEqual(['scrapeds: noai=reserved']);
  });

  it('does not take valued directives for bot names', () => {
    expect(effects(xRobotsTagSignals(['unavailable_after: 25 Jun 2010 15:00:00 PST, noai'], 'h', tokens, 'page'))).toEqual(['noai=reserved']);
  });

  it('ignores what it does not read and bounds hostile input', () => {
    expect(xRobotsTagSignals(['nofollow, max-snippet: 20, ???'], 'h', tokens, 'page')).toEqual([]);
    expect(xRobotsTagSignals([Array(10_000).fill('noai').join(',')], 'h', tokens, 'page').length).toBeLessThanOrEqual(64);
  });
});

describe('meta tags', () => {
  it('meta robots applies to all; a meta named after us or an AI crawler applies; other bots are recorded', () => {
    const meta = [
      { name: 'robots', content: 'noimageai' },
      { name: 'gptbot', content: 'noai' },
      { name: 'googlebot', content: 'noai' },
      { name: 'description', content: 'noai is our favourite word' },
    ];
    expect(effects(metaRobotsSignals(meta, 'p', tokens, 'image'))).toEqual(['noimageai=reserved', 'gptbot: noai=reserved', 'googlebot: noai=none']);
  });

  it('TDMRep meta: 1 reserves, 0 allows, anything else is a protocol error read as unset; the policy is recorded', () => {
    expect(effects(tdmMetaSignals([{ name: 'tdm-reservation', content: '1' }, { name: 'tdm-policy', content: 'https://p' }], 'p'))).toEqual([
      'tdm-reservation: 1=reserved', 'tdm-policy: https://p=none',
    ]);
    expect(effects(tdmMetaSignals([{ name: 'tdm-reservation', content: ' 0 ' }], 'p'))).toEqual(['tdm-reservation: 0=allowed']);
    expect(effects(tdmMetaSignals([{ name: 'tdm-reservation', content: 'yes' }], 'p'))).toEqual(['tdm-reservation: yes=none']);
  });

  it('TDMRep headers, including a repeated (joined) header, which is malformed', () => {
    expect(effects(tdmHeaderSignals({ 'tdm-reservation': '1', 'tdm-policy': 'https://p' }, 'u'))).toEqual(['tdm-reservation: 1=reserved', 'tdm-policy: https://p=none']);
    expect(effects(tdmHeaderSignals({ 'tdm-reservation': '1, 0' }, 'u'))).toEqual(['tdm-reservation: 1, 0=none']);
  });
});

describe('tdmrep.json', () => {
  const url = `${ORIGIN}/.well-known/tdmrep.json`;

  it('the first rule whose location matches applies', () => {
    const view = parseTdmrepFile(url, JSON.stringify([
      { location: '/open/*', 'tdm-reservation': 0 },
      { location: '/*', 'tdm-reservation': 1, 'tdm-policy': 'https://site.test/policy.json' },
    ]));
    expect(tdmrepFileSignals(view, new URL(`${ORIGIN}/open/a`))).toEqual([
      { signal: 'tdmrep-file', where: `${url} rule 1`, value: 'location /open/*: tdm-reservation 0', effect: 'allowed' },
    ]);
    expect(tdmrepFileSignals(view, new URL(`${ORIGIN}/b`))).toEqual([
      expect.objectContaining({ where: `${url} rule 2`, effect: 'reserved', value: 'location /*: tdm-reservation 1, tdm-policy https://site.test/policy.json' }),
    ]);
  });

  it('no matching rule says nothing', () => {
    expect(tdmrepFileSignals(parseTdmrepFile(url, '[{"location": "/x", "tdm-reservation": 1}]'), new URL(`${ORIGIN}/y`))).toEqual([]);
  });

  it('skips invalid rules with a note and uses the valid ones', () => {
    const view = parseTdmrepFile(url, JSON.stringify([{ location: '/*', 'tdm-reservation': 2 }, 'x', { location: 'no-slash', 'tdm-reservation': 1 }, { location: '/*', 'tdm-reservation': 1 }]));
    const signals = tdmrepFileSignals(view, new URL(`${ORIGIN}/a`));
    expect(signals[0]).toMatchObject({ effect: 'none', note: 'invalid rules skipped', value: expect.stringContaining('rule 1: tdm-reservation must be 0 or 1') });
    expect(signals[1]).toMatchObject({ effect: 'reserved', where: `${url} rule 4` });
  });

  it.each([
    ['not JSON', '{nope'],
    ['an object', '{"location": "/", "tdm-reservation": 1}'],
  ])('a file that is %s is malformed and says nothing', (_what, body) => {
    const signals = tdmrepFileSignals(parseTdmrepFile(url, body), new URL(`${ORIGIN}/a`));
    expect(signals).toEqual([expect.objectContaining({ effect: 'none', note: 'malformed: ignored' })]);
  });
});

describe('ai.txt', () => {
  const spawning = `# Spawning AI
User-Agent: *
Disallow: *.jpg
Disallow: *.png
Allow: *.txt
`;

  it('reads Spawning paths without a leading slash', () => {
    expect(normaliseAiTxt('Disallow: *.jpg\nAllow: /a\n')).toBe('Disallow: /*.jpg\nAllow: /a\n');
  });

  it('a matching Disallow reserves, a matching Allow allows, no match says nothing', () => {
    const view = robotsView(normaliseAiTxt(spawning), 'ai.txt');
    expect(effects(aiTxtSignals(view, new URL(`${ORIGIN}/img/a.jpg`), tokens))).toEqual(['Disallow=reserved']);
    expect(effects(aiTxtSignals(view, new URL(`${ORIGIN}/notes.txt`), tokens))).toEqual(['Allow=allowed']);
    expect(aiTxtSignals(view, new URL(`${ORIGIN}/page.html`), tokens)).toEqual([]);
  });

  it('a file of garbage has no rules and says nothing', () => {
    expect(aiTxtSignals(robotsView('\u0000\u0001 not a robots file {}', 'ai.txt'), new URL(`${ORIGIN}/a.jpg`), tokens)).toEqual([]);
  });
});
