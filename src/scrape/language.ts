/**
 * The language of a text as an ISO 639-1 code, with eld (Efficient Language Detector: n-gram tables for 60
 * languages, pure JavaScript, ~0.1 ms for 2,000 characters). Its tables are loaded once per process on first
 * use (by the task runner, after the parse), not in every parse thread. The build writes them as JSON beside
 * this module (scripts/eld-tables.mjs), which loads in ~0.1 s and ~60 MB of RSS; importing eld's own module,
 * a 2 MB object literal, costs ~0.4 s of compile on the main thread and ~200 MB of RSS, and is the fallback
 * (tests run from TypeScript sources, a build without the file, or one written for another eld version).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as EldModule from 'eld/medium';

type Eld = (typeof EldModule)['eld'];

/** Where the build puts the tables. */
export const ELD_TABLES = new URL('./eld-medium.json', import.meta.url);

interface EldTables {
  /** The eld version they were written from, and which of its tables. */
  eld: string;
  table: string;
  ngramsData: unknown;
}

/** eld's package directory: its exports map hides its package.json and the detector's own module. */
const eldRoot = (): string => path.resolve(path.dirname(fileURLToPath(import.meta.resolve('eld/medium'))), '../..');

/**
 * A detector with the tables in `file` loaded into it (eld's own `createEld`, the function its entry modules
 * build theirs with); undefined when there is no such file or it was written for another eld version.
 */
export async function detectorFromTables(file: URL | string): Promise<Eld | undefined> {
  let tables: EldTables;
  try {
    tables = JSON.parse(await readFile(file, 'utf8')) as EldTables;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const root = eldRoot();
  const { version } = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { version: string };
  if (tables.eld !== version || tables.table !== 'medium') return undefined;
  const { createEld } = (await import(pathToFileURL(path.join(root, 'src/languageDetector.js')).href)) as {
    createEld: () => { instance: Eld; loadData: (data: unknown) => string | undefined };
  };
  const { instance, loadData } = createEld();
  if (!loadData(tables.ngramsData)) throw new Error(`eld found no tables in ${String(file)}`);
  return instance;
}

let loading: Promise<Eld> | undefined;
const detector = (): Promise<Eld> =>
  (loading ??= detectorFromTables(ELD_TABLES)
    // Unreadable tables cost only the speed of the load: eld's own module gives the same detector.
    .catch(() => undefined)
    .then((eld) => eld ?? import('eld/medium').then((m) => m.eld)));

/** Characters looked at: enough for a stable answer, little enough to stay cheap on long pages. */
const SAMPLE = 3000;
/** Below this many letters an answer is a guess, so none is given. */
const MIN_LETTERS = 20;

export async function detectLanguage(text: string): Promise<string | undefined> {
  const sample = text.length > SAMPLE ? text.slice(0, SAMPLE) : text;
  if ((sample.match(/\p{L}/gu)?.length ?? 0) < MIN_LETTERS) return undefined;
  const result = (await detector()).detect(sample);
  return result.language && result.isReliable() ? result.language : undefined;
}

/** The primary subtag of a BCP 47 tag (`de-AT` → `de`), when it is a two-letter code. */
export function primaryLanguage(tag: string | undefined): string | undefined {
  const primary = tag?.trim().toLowerCase().split(/[-_]/)[0];
  return primary && /^[a-z]{2}$/.test(primary) ? primary : undefined;
}

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/gu;

/** Words of a text: runs of letters or digits; Chinese and Japanese, written without spaces, count by character. */
export function countWords(text: string): number {
  const cjk = text.match(CJK)?.length ?? 0;
  const spaced = cjk ? text.replace(CJK, ' ') : text;
  return cjk + (spaced.match(/[\p{L}\p{N}][\p{L}\p{N}\p{M}'’_-]*/gu)?.length ?? 0);
}
