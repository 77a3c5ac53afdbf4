import { isoTimeOncePerMs } from '../../src/logger.js';

describe('isoTimeOncePerMs', () => {
  it('writes the time field as pino\'s isoTime does, and formats it again only when the millisecond changes', () => {
    let now = Date.UTC(2026, 10, 26, 13, 46, 18, 123);
    const time = isoTimeOncePerMs(() => now);
    expect(time()).toBe(',"time":"2026-11-26T13:46:18.123Z"');
    expect(JSON.parse(`{"level":30${time()}}`)).toEqual({ level: 30, time: '2026-11-26T13:46:18.123Z' });
    now += 1;
    expect(time()).toBe(',"time":"2026-11-26T13:46:18.124Z"');
  });
});
