/**
 * A diagnostic preload (`node --import bench/lib/mongo-command-stats.mjs`, e.g. through NODE_OPTIONS for a
 * cluster run): counts and times every MongoDB command this process sends, by command, collection and the
 * shape of its filter (field names; `$in` marked, as FerretDB v1 answers it with a collection scan), and
 * writes them to MONGO_COMMAND_STATS_DIR/<ROLE>-<pid>.json at exit. Time is the driver's round trip, which
 * on one machine is mostly the server's work. summarize() folds the files of a run into one table.
 */
import fs from 'node:fs';
import path from 'node:path';
import { rootRequire } from './root-deps.mjs';

/** The filter's field names, `$in` and other operators kept (values dropped). */
function shape(filter) {
  if (!filter || typeof filter !== 'object') return '';
  return Object.entries(filter).map(([k, v]) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) {
      const ops = Object.keys(v).filter((o) => o.startsWith('$'));
      if (ops.length) return `${k}:${ops.join('')}`;
    }
    if (k === '$or' || k === '$and') return `${k}(${v.map(shape).join('|')})`;
    return k;
  }).join(',');
}

export function describe(name, cmd) {
  const coll = typeof cmd[name] === 'string' ? cmd[name] : '';
  switch (name) {
    case 'find': return `find ${coll} {${shape(cmd.filter)}}${cmd.sort ? ' sort' : ''}${cmd.limit ? ` limit` : ''}`;
    case 'update': return `update ${coll} ×${cmd.updates?.length === 1 ? 1 : 'n'} {${shape(cmd.updates?.[0]?.q)}}${cmd.updates?.[0]?.upsert ? ' upsert' : ''}`;
    case 'delete': return `delete ${coll} ×${cmd.deletes?.length === 1 ? 1 : 'n'} {${shape(cmd.deletes?.[0]?.q)}}`;
    case 'insert': return `insert ${coll} ×${cmd.documents?.length === 1 ? 1 : 'n'}`;
    case 'aggregate': return `aggregate ${coll} ${(cmd.pipeline ?? []).map((s) => Object.keys(s)[0]).join('>')} {${shape(cmd.pipeline?.[0]?.$match)}}`;
    case 'count': return `count ${coll} {${shape(cmd.query)}}`;
    case 'findAndModify': return `findAndModify ${coll} {${shape(cmd.query)}}`;
    default: return name;
  }
}

function install() {
  const dir = process.env.MONGO_COMMAND_STATS_DIR;
  if (!dir) return;
  const stats = new Map();
  const started = new Map();
  const { MongoClient } = rootRequire('mongodb');
  const { connect } = MongoClient.prototype;
  MongoClient.prototype.connect = function monitoredConnect(...args) {
    if (!this.monitorCommands) {
      this.monitorCommands = true;
      this.on('commandStarted', (e) => started.set(e.requestId, { key: describe(e.commandName, e.command), t: process.hrtime.bigint() }));
      const done = (e) => {
        const s = started.get(e.requestId);
        if (!s) return;
        started.delete(e.requestId);
        const row = stats.get(s.key) ?? { n: 0, ms: 0 };
        row.n++;
        row.ms += Number(process.hrtime.bigint() - s.t) / 1e6;
        stats.set(s.key, row);
      };
      this.on('commandSucceeded', done);
      this.on('commandFailed', done);
    }
    return connect.apply(this, args);
  };
  process.on('exit', () => {
    if (stats.size === 0) return;
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${process.env.ROLE ?? 'proc'}-${process.pid}.json`), JSON.stringify(Object.fromEntries(stats)));
  });
}

/** Sums the files in `dir` by role and command: [{ role, key, n, ms }], most time first. */
export function summarize(dir) {
  const rows = new Map();
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.json'))) {
    const role = f.replace(/-\d+\.json$/, '');
    for (const [key, { n, ms }] of Object.entries(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')))) {
      const k = `${role}\t${key}`;
      const row = rows.get(k) ?? { role, key, n: 0, ms: 0 };
      row.n += n;
      row.ms += ms;
      rows.set(k, row);
    }
  }
  return [...rows.values()].sort((a, b) => b.ms - a.ms);
}

/** The environment that makes a service process (ROLE set) count its commands into `dir`. */
export function commandStatsEnv(dir) {
  return { MONGO_COMMAND_STATS_DIR: dir, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${import.meta.filename}`.trim() };
}

/** A run's commands per task: the total, and by role and kind (most first). */
export function commandsPerTask(dir, tasks) {
  if (!fs.existsSync(dir) || !tasks) return undefined;
  const rows = summarize(dir).filter((r) => r.role === 'api' || r.role === 'worker');
  const total = rows.reduce((a, r) => a + r.n, 0);
  return {
    perTask: total / tasks,
    byKind: rows.sort((a, b) => b.n - a.n).map((r) => ({ role: r.role, kind: r.key, perTask: r.n / tasks, msEach: r.ms / r.n })),
  };
}

install();

if (process.argv[1] && import.meta.filename === fs.realpathSync(process.argv[1]) && process.argv[2]) {
  for (const r of summarize(process.argv[2])) console.log(`${r.role.padEnd(7)} ${String(r.n).padStart(7)} ${r.ms.toFixed(0).padStart(8)} ms ${(r.ms / r.n).toFixed(2).padStart(7)} ms/cmd  ${r.key}`);
}
