import { isDuplicateKey, writeErrorsOf } from '../../src/models/mongo/revision.js';

describe('writeErrorsOf: the per-document errors of an unordered bulk insert', () => {
  it('names each refused document by its index, with its code and message', () => {
    const err = { writeErrors: [{ index: 1, code: 11000, errmsg: 'E11000 duplicate key' }, { index: 3, code: 2 }] };
    expect(writeErrorsOf(err)).toEqual([{ index: 1, code: 11000, message: 'E11000 duplicate key' }, { index: 3, code: 2, message: 'write error' }]);
    expect(isDuplicateKey(err)).toBe(true);
  });

  // The driver's error for a command the server refused as a whole (FerretDB on a full disk: ok 0) carries an
  // empty writeErrors: no document was stored, so it must not read as "none refused".
  it('is undefined for a command that failed as a whole, or for anything else', () => {
    expect(writeErrorsOf({ ok: 0, code: 1, errmsg: 'database or disk is full', writeErrors: [] })).toBeUndefined();
    expect(writeErrorsOf({ writeErrors: [{ code: 11000 }] })).toBeUndefined();
    expect(writeErrorsOf(new Error('connection reset'))).toBeUndefined();
    expect(writeErrorsOf(null)).toBeUndefined();
  });
});
