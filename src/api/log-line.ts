/**
 * A pino info line whose fields are already JSON, written straight to the logger's destination: pino's own
 * path walks and stringifies each nested object of a line, a visible share of a cheap GET when every request
 * logs one. The line is byte for byte what `log.info(fields, msg)` writes (level, time, the logger's bindings,
 * the fields, msg). A logger configured in a way this does not reproduce (formatters, mixins, hooks, a nested
 * key, a message prefix, a destination that wants metadata) is given the fields through pino as usual.
 */
import { pino } from 'pino';
import type { Logger } from '../logger.js';

const S = pino.symbols;
const INFO = 30;
/** In pino's symbols at run time, missing from its type declarations. */
const MSG_PREFIX = (S as unknown as Record<string, symbol | undefined>).msgPrefixSym;

type Internals = Record<symbol, unknown>;

/** Whether `log` writes a line exactly as assembled by `writeInfo` (checked once per logger). */
function plain(log: Logger): boolean {
  const l = log as unknown as Internals;
  const formatters = l[S.formattersSym] as { log?: unknown; bindings?: unknown; level?: unknown } | undefined;
  const hooks = l[S.hooksSym] as { logMethod?: unknown; streamWrite?: unknown } | undefined;
  const stream = l[S.streamSym] as { write?: unknown } | undefined;
  return (
    typeof stream?.write === 'function' &&
    !(stream as Internals)[S.needsMetadataGsym] &&
    typeof l[S.timeSym] === 'function' &&
    typeof l[S.chindingsSym] === 'string' &&
    typeof (l[S.lsCacheSym] as Record<number, unknown> | undefined)?.[INFO] === 'string' &&
    typeof l[S.endSym] === 'string' &&
    !formatters?.log &&
    !hooks?.logMethod &&
    !hooks?.streamWrite &&
    !l[S.mixinSym] &&
    !l[S.nestedKeySym] &&
    !(MSG_PREFIX && l[MSG_PREFIX])
  );
}

/**
 * Returns a writer of info lines for `log`: `json` is the fields as JSON members without braces (`"a":1,"b":2`),
 * `fields` builds the same fields as an object, for the logger that is not plain.
 */
export function infoLineWriter(log: Logger): (json: () => string, fields: () => object, msg: string) => void {
  if (!plain(log)) {
    return (_json, fields, msg) => {
      if (log.isLevelEnabled('info')) log.info(fields(), msg);
    };
  }
  const l = log as unknown as Internals;
  const msgKey = JSON.stringify(l[S.messageKeySym] ?? 'msg');
  return (json, _fields, msg) => {
    if (log.levelVal > INFO) return;
    // Read per line: a child made later, or a level changed at run time, sees the same as pino would.
    const line = `${(l[S.lsCacheSym] as Record<number, string>)[INFO]}${(l[S.timeSym] as () => string)()}${l[S.chindingsSym] as string},${json()},${msgKey}:${JSON.stringify(msg)}${l[S.endSym] as string}`;
    (l[S.streamSym] as { write: (s: string) => void }).write(line);
  };
}
