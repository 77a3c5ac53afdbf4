import Database from 'better-sqlite3';
import { transactionsOf } from '../../src/models/sqlite/transactions.js';

describe('transactionsOf (one transaction wrapper per database)', () => {
  let db: Database.Database;
  beforeEach(() => {
    db = new Database(':memory:');
    db.exec('CREATE TABLE t (v INTEGER)');
  });
  afterEach(() => db.close());

  const values = () => (db.prepare('SELECT v FROM t ORDER BY v').all() as Array<{ v: number }>).map((r) => r.v);

  it('is made once per database and answers what the function returns', () => {
    const tx = transactionsOf(db);
    expect(transactionsOf(db)).toBe(tx);
    expect(tx.immediate(() => db.prepare('INSERT INTO t VALUES (1)').run().changes)).toBe(1);
    expect(tx.deferred(() => values())).toEqual([1]);
  });

  it('rolls back a transaction whose function throws, and the error reaches the caller', () => {
    const tx = transactionsOf(db);
    expect(() =>
      tx.immediate(() => {
        db.prepare('INSERT INTO t VALUES (1)').run();
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(values()).toEqual([]);
    expect(db.inTransaction).toBe(false);
  });

  it('nests as a savepoint: an inner failure caught by the outer undoes only the inner writes', () => {
    const tx = transactionsOf(db);
    tx.immediate(() => {
      db.prepare('INSERT INTO t VALUES (1)').run();
      expect(() =>
        tx.immediate(() => {
          db.prepare('INSERT INTO t VALUES (2)').run();
          throw new Error('inner');
        }),
      ).toThrow('inner');
      tx.deferred(() => db.prepare('INSERT INTO t VALUES (3)').run());
    });
    expect(values()).toEqual([1, 3]);
  });

  it('gives each database its own wrapper', () => {
    const other = new Database(':memory:');
    try {
      expect(transactionsOf(other)).not.toBe(transactionsOf(db));
    } finally {
      other.close();
    }
  });
});
