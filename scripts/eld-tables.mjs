/**
 * Writes eld's medium n-gram tables as JSON beside the built language module (run by `npm run build` and the
 * bench's build): the service then loads them with JSON.parse, in ~0.1 s and ~60 MB, instead of importing
 * eld's 2 MB JavaScript object literal (~0.4 s of compile on the main thread and ~200 MB of RSS, most of it
 * the compiler's). Usage: node scripts/eld-tables.mjs OUT_FILE. See src/scrape/language.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const out = process.argv[2];
if (!out) throw new Error('usage: node scripts/eld-tables.mjs OUT_FILE');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.resolve('eld/medium'))), '../..');
const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const { ngramsData } = await import(new URL('src/ngrams/medium.js', `file://${root}/`).href);
fs.mkdirSync(path.dirname(out), { recursive: true });
const tmp = `${out}.${process.pid}.tmp`;
fs.writeFileSync(tmp, JSON.stringify({ eld: version, table: 'medium', ngramsData }));
fs.renameSync(tmp, out);
