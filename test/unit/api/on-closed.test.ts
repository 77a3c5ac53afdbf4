import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { onClosed } from '../../../src/api/on-closed.js';

describe('onClosed', () => {
  it('runs every callback once, in order, on one close listener per response', async () => {
    const calls: string[] = [];
    let listeners = -1;
    const server = http.createServer((_req, res) => {
      const before = res.listenerCount('close');
      onClosed(res, () => calls.push('first'));
      onClosed(res, () => calls.push(`second, finished: ${res.writableFinished}`));
      listeners = res.listenerCount('close') - before;
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      expect(await res.text()).toBe('ok');
      for (let i = 0; i < 100 && calls.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(calls).toEqual(['first', 'second, finished: true']);
      expect(listeners).toBe(1);
    } finally {
      server.close();
    }
  });
});
