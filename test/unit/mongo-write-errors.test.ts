import type { Collection } from 'mongoose';
import { insertUnordered, isDuplicateKey, writeErrorsOf } from '../../src/models/mongo/write-errors.js';

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

describe('insertUnordered: one unordered insert, and what it refused', () => {
  /** A collection whose insertMany fails with `err` (or succeeds), recording the options it was given. */
  const collectionFailingWith = (err?: unknown) => {
    const calls: unknown[] = [];
    const collection = {
      insertMany: async (_docs: unknown[], options: unknown) => {
        calls.push(options);
        if (err) throw err;
      },
    } as unknown as Collection;
    return { collection, calls };
  };
  const duplicateAt = (...indices: number[]) => ({ writeErrors: indices.map((index) => ({ index, code: 11000, errmsg: 'E11000 duplicate key' })) });

  it('answers nothing refused when every document went in, unordered', async () => {
    const { collection, calls } = collectionFailingWith();
    await expect(insertUnordered(collection, [{ _id: 'a' }, { _id: 'b' }])).resolves.toEqual([]);
    expect(calls).toEqual([{ ordered: false, ignoreUndefined: false }]);
  });

  it('answers the documents already there by index', async () => {
    const { collection } = collectionFailingWith(duplicateAt(0, 2));
    const refused = await insertUnordered(collection, [{ _id: 'a' }, { _id: 'b' }, { _id: 'c' }]);
    expect(refused.map((r) => r.index)).toEqual([0, 2]);
  });

  it("throws the driver's own error for a refusal the caller does not expect", async () => {
    const err = { writeErrors: [{ index: 0, code: 11000 }, { index: 1, code: 121, errmsg: 'validation' }] };
    await expect(insertUnordered(collectionFailingWith(err).collection, [{}, {}])).rejects.toBe(err);
    const any = await insertUnordered(collectionFailingWith(err).collection, [{}, {}], { expected: () => true, ignoreUndefined: true });
    expect(any.map((r) => r.code)).toEqual([11000, 121]);
  });

  it("throws the driver's own error for a command that failed as a whole (FerretDB on a full disk)", async () => {
    const whole = { ok: 0, code: 1, errmsg: 'database or disk is full', writeErrors: [] };
    await expect(insertUnordered(collectionFailingWith(whole).collection, [{}], { expected: () => true })).rejects.toBe(whole);
    const reset = new Error('connection reset');
    await expect(insertUnordered(collectionFailingWith(reset).collection, [{}])).rejects.toBe(reset);
  });
});
