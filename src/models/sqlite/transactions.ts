/** Transactions on a database through one wrapper made once, not one made per call. */
import type Database from 'better-sqlite3';

export interface Transactions {
  /** `fn` in a BEGIN IMMEDIATE transaction (a savepoint when inside one already). */
  immediate<T>(fn: () => T): T;
  /** `fn` in a BEGIN DEFERRED transaction: a read snapshot (a savepoint when inside one already). */
  deferred<T>(fn: () => T): T;
}

const made = new WeakMap<Database.Database, Transactions>();

/**
 * better-sqlite3's `db.transaction(fn)` builds four wrapper functions and defines their properties on every
 * call; the store opens several transactions for every task and page, so each database gets one wrapper that
 * runs the thunk it is given, with the same nesting (savepoints) and rollback on a throw.
 */
export function transactionsOf(db: Database.Database): Transactions {
  let t = made.get(db);
  if (!t) {
    const run = db.transaction((fn: () => unknown) => fn());
    t = { immediate: <T>(fn: () => T) => run.immediate(fn) as T, deferred: <T>(fn: () => T) => run.deferred(fn) as T };
    made.set(db, t);
  }
  return t;
}
