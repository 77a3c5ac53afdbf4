/**
 * Work to do once a response is over, on one 'close' listener per response however many layers ask: each
 * listener more costs an add and makes every emit copy the listener array, a visible share of a cheap GET.
 * 'close' comes once per response: right after 'finish' when answered (in the same turn of the event loop,
 * before the client's next request is read) or alone when the client went away (res.writableFinished false).
 */
import type { ServerResponse } from 'node:http';

const CALLBACKS = Symbol('on closed');
type WithCallbacks = ServerResponse & { [CALLBACKS]?: Array<() => void> };

export function onClosed(res: ServerResponse, callback: () => void): void {
  const r = res as WithCallbacks;
  const callbacks = r[CALLBACKS];
  if (callbacks) return void callbacks.push(callback);
  const list = [callback];
  r[CALLBACKS] = list;
  res.on('close', () => {
    for (const fn of list) fn();
  });
}
