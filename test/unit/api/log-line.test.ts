import { pino, type Logger } from 'pino';
import { isoTimeOncePerMs } from '../../../src/logger.js';
import { infoLineWriter } from '../../../src/api/log-line.js';

/** A logger writing raw lines into `lines`, with a fixed clock so two lines can be compared byte for byte. */
function logger(options: pino.LoggerOptions = {}): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = pino({ timestamp: isoTimeOncePerMs(() => 1_767_225_600_000), ...options }, { write: (line: string) => void lines.push(line) });
  return { log, lines };
}

const fields = { req: { id: 7, method: 'GET', url: '/x?q="é\\n"', remoteAddress: '127.0.0.1' }, res: { statusCode: 200 }, responseTime: 3 };
const json = () => JSON.stringify(fields).slice(1, -1);

describe('infoLineWriter', () => {
  it.each([
    ['a root logger with pino\'s default base', {}],
    ['a root logger with the service\'s base', { base: { service: 'scrapeds' } }],
    ['a logger with another message key', { messageKey: 'message' }],
  ])('writes byte for byte what log.info(fields, msg) writes: %s', (_name, options) => {
    const ours = logger(options);
    const theirs = logger(options);
    infoLineWriter(ours.log)(json, () => fields, 'request completed');
    theirs.log.info(fields, 'request completed');
    expect(ours.lines).toHaveLength(1);
    expect(ours.lines).toEqual(theirs.lines);
  });

  it('writes as a child logger does, bindings included', () => {
    const ours = logger();
    const theirs = logger();
    infoLineWriter(ours.log.child({ component: 'api' }))(json, () => fields, 'request aborted');
    theirs.log.child({ component: 'api' }).info(fields, 'request aborted');
    expect(ours.lines).toEqual(theirs.lines);
  });

  it('writes nothing when info is off, also after a level change at run time', () => {
    const { log, lines } = logger({ level: 'warn' });
    const write = infoLineWriter(log);
    write(json, () => fields, 'request completed');
    expect(lines).toEqual([]);
    log.level = 'info';
    write(json, () => fields, 'request completed');
    expect(lines).toHaveLength(1);
  });

  it('hands the fields to pino when the logger formats lines itself', () => {
    const { log, lines } = logger({ formatters: { log: (o) => ({ ...o, formatted: true }) } });
    infoLineWriter(log)(() => '"not":"used"', () => fields, 'request completed');
    expect(JSON.parse(lines[0]!)).toMatchObject({ ...fields, formatted: true, msg: 'request completed' });
    expect(lines[0]).not.toContain('"not"');
  });
});
