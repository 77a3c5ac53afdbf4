/**
 * BENCH_ONLY=storeops: store operations per image, for each TaskStore adapter, counted at the driver (hooked
 * from here, so any build can be counted, BENCH_DIST=… of an older commit included): SQLite statements run
 * and transactions (a statement outside a transaction is one of its own), MongoDB commands (the driver's
 * command monitoring, switched on for every client this process connects). Each adapter replays the store calls
 * of an images task (create, dispatch receipt, start, images, finish) over `pages` pages of
 * `imagesPerPage` images, `concurrency` downloads at a time (a download is a short random sleep), a share
 * of each page's images from a pool that earlier pages stored (reuse). Two ways, in the same run:
 * - one by one: claimImage, completeImage, linkImage per image, and the links cleared at every start
 *   (the images runner before issue 9 item 2);
 * - batched: the runner's own PageClaims and Settlements (src/worker/image-batches.ts) over claimImages and
 *   settleImages, no clearing for a task without links.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { rootRequire } from './lib/root-deps.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** At most `n` of `fns` running at once, in order. */
async function limited(n, fns) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, fns.length) }, async () => {
    for (let i = next++; i < fns.length; i = next++) await fns[i]();
  }));
}

const counts = { statements: 0, transactions: 0, commands: 0 };

/** Counts better-sqlite3 statements and transactions, and MongoDB commands, of everything opened after this. */
function hookDrivers() {
  const Database = rootRequire('better-sqlite3');
  const { prepare, transaction } = Database.prototype;
  Database.prototype.prepare = function countedPrepare(...args) {
    const stmt = prepare.apply(this, args);
    const inTransaction = () => this.inTransaction;
    for (const m of ['run', 'get', 'all', 'iterate']) {
      const f = stmt[m];
      stmt[m] = function counted(...a) {
        counts.statements++;
        if (!inTransaction()) counts.transactions++;
        return f.apply(this, a);
      };
    }
    return stmt;
  };
  Database.prototype.transaction = function countedTransaction(fn) {
    const tx = transaction.call(this, fn);
    const inTransaction = () => this.inTransaction;
    const wrap = (f) => function counted(...a) {
      if (!inTransaction()) counts.transactions++; // nested: a savepoint inside the same transaction
      return f.apply(this, a);
    };
    const out = wrap(tx);
    for (const k of ['deferred', 'immediate', 'exclusive']) out[k] = wrap(tx[k]);
    return out;
  };
  const { MongoClient } = rootRequire('mongodb');
  const { connect } = MongoClient.prototype;
  MongoClient.prototype.connect = function countedConnect(...args) {
    if (!this.monitorCommands) {
      this.monitorCommands = true;
      this.on('commandStarted', () => counts.commands++);
    }
    return connect.apply(this, args);
  };
}

const file = (n) => ({ sha256: n.toString(16).padStart(64, '0'), key: `images/00/${n}.png`, mime: 'image/png', bytes: 2048, width: 32, height: 32 });

async function replay(store, mode, { pages, imagesPerPage, concurrency, batches }, runId) {
  const lease = { owner: 'bench-worker', ms: 60_000 };
  const claimOpts = (taskId) => ({ taskId, staleAfterMs: 60_000 });
  let n = 0;
  const t0 = process.hrtime.bigint();
  for (let p = 0; p < pages; p++) {
    const task = await store.createTask({ kind: 'images', url: `http://127.0.0.1/${runId}/p/${p}.html`, refresh: false });
    // An array since issue 9 item 2 (one receipt per task before); a string for builds from before it.
    await store.markDispatched(store.claimImages ? [task.id] : task.id);
    const started = await store.startTask(task.id, lease);
    const urls = Array.from({ length: imagesPerPage }, (_, j) => (j < Math.round(imagesPerPage * 0.3)
      ? `http://127.0.0.1/${runId}/shared/${(p * 3 + j) % 20}.png` : `http://127.0.0.1/${runId}/img/${p}/${j}.png`));
    const download = () => sleep(Math.random() * 2);
    if (mode === 'one by one') {
      await store.clearTaskImages(task.id);
      await limited(concurrency, urls.map((sourceUrl, position) => async () => {
        const claim = await store.claimImage(sourceUrl, claimOpts(task.id));
        let outcome = 'reused';
        if (claim.outcome === 'claimed') {
          await download();
          await store.completeImage(claim.image.id, task.id, { status: 'stored', file: file(++n) });
          outcome = 'stored';
        }
        await store.linkImage({ taskId: task.id, position, sourceUrl, imageId: claim.image.id, outcome });
      }));
    } else {
      if (started.counts?.found !== 0) await store.clearTaskImages(task.id);
      const claims = new batches.PageClaims(urls, Math.max(8, 2 * concurrency), (u) => store.claimImages(u, claimOpts(task.id)));
      const settlements = new batches.Settlements(store);
      await limited(concurrency, urls.map((sourceUrl, position) => async () => {
        const claim = await claims.take(position);
        const link = { taskId: task.id, position, sourceUrl, imageId: claim.image.id, outcome: claim.outcome === 'claimed' ? 'stored' : 'reused' };
        if (claim.outcome === 'claimed') {
          await download();
          await settlements.settle({ link, completion: { status: 'stored', file: file(++n) } });
        } else await settlements.settle({ link });
      }));
    }
    await store.finishTask(task.id, { status: 'succeeded', page: { finalUrl: task.url, httpStatus: 200, bytes: 1 } }, lease.owner);
  }
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export async function storeOpsRun({ distDir, mongoUrl, infraCpu = () => undefined, pages, imagesPerPage, concurrency }) {
  hookDrivers();
  const load = (rel) => import(pathToFileURL(path.join(distDir, rel)).href);
  const { openSqliteTaskStore } = await load('models/sqlite/sqlite-task-store.js');
  const { openMongoTaskStore } = await load('models/mongo/mongo-task-store.js');
  // A build from before the batches (BENCH_DIST=… of an older commit) is measured one by one only.
  const batches = await load('worker/image-batches.js').catch(() => undefined);
  const modes = batches ? ['one by one', 'batched'] : ['one by one'];
  const params = { pages, imagesPerPage, concurrency, batches };
  const images = pages * imagesPerPage;
  const out = { pages, imagesPerPage, concurrency, sqlite: {}, mongo: {} };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrapeds-store-ops-'));
  try {
    for (const mode of modes) {
      const store = openSqliteTaskStore(path.join(dir, `${mode.replace(/ /g, '-')}.db`));
      try {
        Object.assign(counts, { statements: 0, transactions: 0 });
        const seconds = await replay(store, mode, params, 'sqlite');
        out.sqlite[mode] = { statementsPerImage: counts.statements / images, transactionsPerImage: counts.transactions / images, imagesPerSec: images / seconds };
      } finally {
        await store.close();
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (!mongoUrl) {
    out.mongo = { skipped: 'no MONGO_URL' };
    return out;
  }
  for (const mode of modes) {
    const dbName = `bench_store_ops_${process.pid}_${mode === 'batched' ? 'b' : 'o'}`;
    const store = await openMongoTaskStore(mongoUrl, { dbName });
    try {
      counts.commands = 0;
      const cpu0 = infraCpu(); // FerretDB's (and its PostgreSQL's) CPU, when the services are this run's own
      const seconds = await replay(store, mode, params, 'mongo');
      const cpu1 = infraCpu();
      const ferretCpuMsPerImage = cpu0 && cpu1 ? ((cpu1.ferretdb - cpu0.ferretdb) * 1000) / images : undefined;
      out.mongo[mode] = { commandsPerImage: counts.commands / images, ferretCpuMsPerImage, imagesPerSec: images / seconds };
    } finally {
      await store.close();
      const conn = await rootRequire('mongoose').createConnection(mongoUrl).asPromise();
      await conn.useDb(dbName, { useCache: false }).dropDatabase();
      await conn.close();
    }
  }
  return out;
}
