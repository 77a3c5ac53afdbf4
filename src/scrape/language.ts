/**
 * The language of a text as an ISO 639-1 code, with eld (Efficient Language Detector: n-gram tables for 60
 * languages, pure JavaScript, ~0.1 ms for 2,000 characters). Its medium table takes 1.5–3 s to load, so it
 * is loaded once per process on first use (by the task runner, after the parse), not in every parse thread
 * where it would count against the parse timeout.
 */
import type * as EldModule from 'eld/medium';

type Eld = (typeof EldModule)['eld'];
let loading: Promise<Eld> | undefined;
const detector = (): Promise<Eld> => (loading ??= import('eld/medium').then((m) => m.eld));

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
