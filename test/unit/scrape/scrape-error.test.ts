import { ScrapeError, toTaskError } from '../../../src/scrape/scrape-error.js';

describe('toTaskError', () => {
  it('keeps the code, message and details of a ScrapeError', () => {
    const err = new ScrapeError('http_error', 'HTTP 404', { httpStatus: 404 });
    expect(toTaskError(err)).toEqual({ code: 'http_error', message: 'HTTP 404', httpStatus: 404 });
    expect(toTaskError(new ScrapeError('blocked_address', 'no', { address: '10.0.0.1' }))).toEqual({
      code: 'blocked_address',
      message: 'no',
      address: '10.0.0.1',
    });
  });

  it('leaves out details that are absent', () => {
    expect(Object.keys(toTaskError(new ScrapeError('timeout', 'slow')))).toEqual(['code', 'message']);
  });

  it('calls anything else an internal error', () => {
    expect(toTaskError(new TypeError('boom'))).toEqual({ code: 'internal_error', message: 'boom' });
    expect(toTaskError('weird')).toEqual({ code: 'internal_error', message: 'weird' });
  });
});
