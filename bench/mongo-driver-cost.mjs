/**
 * Node CPU per MongoDB command under connection variants (issue 9: why a command costs the cluster's Node
 * processes ~1 ms). One process opens a connection per variant, warms them all, then runs chunks of the
 * store's command mix (findOne by _id, updateOne by {_id, rev}, insertOne of a ticket, a 2-statement
 * unordered bulkWrite) with 8 in flight, the variants taking turns chunk by chunk (order alternating), so
 * load on a shared machine and the JIT's state fall on each alike. Prints the median CPU µs per command
 * (process.cpuUsage: user + system) of each variant and its ratio to the first; with FERRETDB_PID, also
 * FerretDB's CPU µs per command from /proc.
 *
 *   MONGO_URL=… node bench/mongo-driver-cost.mjs '{"base":{},"noUtf8":{"enableUtf8Validation":false},"pool4":{"maxPoolSize":4}}'
 *
 * A variant is connect options, plus `url` (another server), `monitor: true` (command events tallied as
 * bench/lib/mongo-command-stats.mjs does) or `mongooseCollection: true` (mongoose's collection wrapper
 * instead of the driver's collection). Sizes: CHUNK (commands, 400), ROUNDS (8). `COLD=1` instead prints
 * the first variant's CPU per command chunk by chunk from a fresh process, without warming up.
 */
import { describe } from './lib/mongo-command-stats.mjs';
import { cpuSeconds } from './lib/proc.mjs';
import { rootRequire } from './lib/root-deps.mjs';

const mongoose = rootRequire('mongoose');
const env = process.env;
const CHUNK = Number(env.CHUNK ?? 400);
const ROUNDS = Number(env.ROUNDS ?? 8);
const IN_FLIGHT = 8;
const dbName = `bench_driver_cost_${process.pid}`;
const withDb = (url) => Object.assign(new URL(url), { pathname: `/${dbName}` }).toString();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const ferretCpu = () => (env.FERRETDB_PID ? cpuSeconds(Number(env.FERRETDB_PID)) : 0);

async function open({ url, monitor, mongooseCollection, ...options }) {
  const conn = await mongoose.createConnection(withDb(url ?? env.MONGO_URL), { autoIndex: false, autoCreate: false, bufferCommands: false, maxPoolSize: 16, ...options, ...(monitor ? { monitorCommands: true } : {}) }).asPromise();
  if (monitor) {
    const started = new Map();
    const client = conn.getClient();
    client.on('commandStarted', (e) => started.set(e.requestId, describe(e.commandName, e.command)));
    for (const event of ['commandSucceeded', 'commandFailed']) client.on(event, (e) => started.delete(e.requestId));
  }
  const coll = (name) => (mongooseCollection ? conn.collection(name) : conn.db.collection(name));
  return { conn, tasks: coll('tasks'), tickets: coll('tickets') };
}

const taskDoc = (i) => ({ _id: `task-${i}`, rev: 0, kind: 'images', url: `http://127.0.0.1:1/p/${i}.html`, status: 'queued', attempts: 0, refresh: false, createdAt: new Date(), updatedAt: new Date() });
let seq = 0;

/** One chunk of the command mix on `v`: [Node CPU µs, FerretDB CPU µs] per command. */
async function chunk(v) {
  let next = 0;
  const c0 = process.cpuUsage();
  const f0 = ferretCpu();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next++ < CHUNK) {
      const j = seq++;
      const id = `task-${j % 200}`;
      if (j % 4 === 0) await v.tasks.findOne({ _id: id });
      else if (j % 4 === 1) await v.tasks.updateOne({ _id: id, rev: { $gte: 0 } }, { $set: { status: 'running', updatedAt: new Date() } });
      else if (j % 4 === 2) await v.tickets.insertOne({ _id: `tasks/${id}/${j}`, at: new Date() });
      else await v.tasks.bulkWrite([id, `task-${(j + 1) % 200}`].map((_id) => ({ updateOne: { filter: { _id }, update: { $set: { seen: j } } } })), { ordered: false });
    }
  }));
  const c = process.cpuUsage(c0);
  return [(c.user + c.system) / CHUNK, ((ferretCpu() - f0) * 1e6) / CHUNK];
}

const variants = JSON.parse(process.argv[2] ?? '{"base":{}}');
const opened = Object.fromEntries(await Promise.all(Object.entries(variants).map(async ([name, o]) => [name, await open(o)])));
const names = Object.keys(opened);
const first = opened[names[0]];
try {
  await first.tasks.insertMany(Array.from({ length: 200 }, (_, i) => taskDoc(i)));
  if (env.COLD === '1') {
    // A fresh process: the first variant's commands from the very first one, chunk by chunk (the JIT warming up).
    const xs = [];
    for (let k = 0; k < ROUNDS; k++) xs.push((await chunk(first))[0].toFixed(0));
    console.log(`${names[0]}: Node CPU µs per command, chunks of ${CHUNK} from a fresh process: ${xs.join(' ')}`);
  } else {
    for (let w = 0; w < 3; w++) for (const name of names) await chunk(opened[name]);
    const runs = Object.fromEntries(names.map((n) => [n, []]));
    for (let r = 0; r < ROUNDS; r++) for (const name of r % 2 ? [...names].reverse() : names) runs[name].push(await chunk(opened[name]));
    const base = median(runs[names[0]].map((x) => x[0]));
    for (const name of names) {
      const node = median(runs[name].map((x) => x[0]));
      const ferret = env.FERRETDB_PID ? `, FerretDB ${median(runs[name].map((x) => x[1])).toFixed(0)} µs` : '';
      console.log(`${name.padEnd(20)} Node ${node.toFixed(0).padStart(5)} µs per command (${(node / base).toFixed(2)}×)${ferret}; chunks: ${runs[name].map((x) => x[0].toFixed(0)).join(' ')}`);
    }
  }
} finally {
  await first.conn.db.dropDatabase();
  for (const v of Object.values(opened)) await v.conn.close();
}
