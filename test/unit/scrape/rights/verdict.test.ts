import { decideRights, type RightsSignal } from '../../../../src/scrape/rights/verdict.js';

const s = (signal: RightsSignal['signal'], effect: RightsSignal['effect'], value = 'v'): RightsSignal => ({ signal, where: 'w', value, effect });

describe('decideRights', () => {
  it('nothing said is unknown; neutral signals stay unknown', () => {
    expect(decideRights([]).verdict).toBe('unknown');
    expect(decideRights([s('x-robots-tag', 'none', 'noindex')]).verdict).toBe('unknown');
  });

  it('one reservation anywhere wins over permissions elsewhere', () => {
    expect(decideRights([s('content-signal', 'allowed'), s('robots.txt', 'allowed'), s('x-robots-tag', 'reserved')]).verdict).toBe('reserved');
  });

  it('an explicit permission with no reservation is allowed', () => {
    expect(decideRights([s('content-signal', 'allowed'), s('x-robots-tag', 'none')]).verdict).toBe('allowed');
  });

  it('TDMRep answers once, in its processing order: file, then header, then meta', () => {
    const fileAllows = decideRights([s('tdmrep-meta', 'reserved'), s('tdmrep-header', 'reserved'), s('tdmrep-file', 'allowed')]);
    expect(fileAllows.verdict).toBe('allowed');
    expect(fileAllows.signals.map((x) => [x.signal, x.effect])).toEqual([['tdmrep-meta', 'none'], ['tdmrep-header', 'none'], ['tdmrep-file', 'allowed']]);
    expect(fileAllows.signals[0]!.note).toBe('overridden by tdmrep-file (TDMRep processing order)');
    expect(decideRights([s('tdmrep-meta', 'reserved'), s('tdmrep-header', 'allowed')]).verdict).toBe('allowed');
    expect(decideRights([s('tdmrep-meta', 'reserved')]).verdict).toBe('reserved');
  });

  it('a malformed higher TDMRep technique does not hide a valid lower one', () => {
    expect(decideRights([s('tdmrep-file', 'none', 'malformed'), s('tdmrep-header', 'reserved')]).verdict).toBe('reserved');
  });

  it('TDMRep allowing does not override a reservation by another mechanism', () => {
    expect(decideRights([s('tdmrep-file', 'allowed'), s('content-signal', 'reserved')]).verdict).toBe('reserved');
  });

  it('does not change its input', () => {
    const input = [s('tdmrep-meta', 'reserved'), s('tdmrep-file', 'allowed')];
    decideRights(input);
    expect(input[0]!.effect).toBe('reserved');
  });
});
