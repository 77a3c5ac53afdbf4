import { INTERNAL_FAILURES, publicTaskError } from '../../../src/models/task-error.js';
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

  it('calls anything else an internal error, with a fixed message that reveals nothing', () => {
    expect(toTaskError(new TypeError('boom at /srv/app/x.js'))).toEqual({ code: 'internal_error', message: INTERNAL_FAILURES.internal_error });
    expect(toTaskError('weird')).toEqual({ code: 'internal_error', message: INTERNAL_FAILURES.internal_error });
    expect(toTaskError(null)).toEqual({ code: 'internal_error', message: INTERNAL_FAILURES.internal_error });
  });

  it.each(['ENOSPC', 'EROFS', 'ENOENT', 'EACCES', 'SQLITE_FULL', 'SQLITE_IOERR_WRITE', 'SQLITE_READONLY'])('calls a %s a storage error, without its path', (code) => {
    const err = Object.assign(new Error(`${code}: no space left on device, mkdir '/var/lib/scrapeds/media/images/ab'`), { code });
    expect(toTaskError(err)).toEqual({ code: 'storage_error', message: INTERNAL_FAILURES.storage_error });
  });
});

describe('publicTaskError', () => {
  it('replaces the message of an internal failure stored before messages were fixed', () => {
    expect(publicTaskError({ code: 'internal_error', message: "ENOENT: no such file or directory, mkdir '/data/media/images/ab'" })).toEqual({
      code: 'internal_error',
      message: INTERNAL_FAILURES.internal_error,
    });
  });

  it('shows scrape errors as they are', () => {
    const e = { code: 'http_error', message: 'HTTP 404', httpStatus: 404 };
    expect(publicTaskError(e)).toEqual(e);
    expect(publicTaskError({ code: 'toString', message: 'x' })).toEqual({ code: 'toString', message: 'x' });
  });
});
