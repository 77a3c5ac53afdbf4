import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { requestLog } from '../../../src/api/request-log.js';
import { capturingLogger } from '../../fixtures/log.js';

function app() {
  const { log, lines } = capturingLogger();
  const a = express();
  a.use(requestLog(log, (url) => url === '/health'));
  a.get('/health', (_req, res) => void res.json({ status: 'ok' }));
  a.get('/ok', (req, res) => {
    req.log?.warn({ detail: 1 }, 'handler says');
    res.json({ ok: true });
  });
  a.get('/boom', (_req, res) => void res.status(503).json({}));
  const mounted = express.Router();
  mounted.get('/:id', async (_req, res) => {
    await new Promise((resolve) => setImmediate(resolve));
    res.json({});
  });
  a.use('/things', mounted);
  return { a, lines };
}

describe('requestLog', () => {
  it('writes one line per answered request, with the request, the status and the time taken', async () => {
    const { a, lines } = app();
    await request(a).get('/ok?x=1').expect(200);
    const done = lines.filter((l) => l.msg === 'request completed');
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({ level: 30, req: { method: 'GET', url: '/ok?x=1', id: 1 }, res: { statusCode: 200 } });
    expect(typeof done[0]!.responseTime).toBe('number');
    expect(typeof (done[0]!.req as { remoteAddress?: unknown }).remoteAddress).toBe('string');
  });

  it('logs the URL as requested, also when a mounted router answers it', async () => {
    const { a, lines } = app();
    await request(a).get('/things/42').expect(200);
    expect(lines.find((l) => l.msg === 'request completed')).toMatchObject({ req: { url: '/things/42' } });
  });

  it('binds a handler\'s own lines to its request', async () => {
    const { a, lines } = app();
    await request(a).get('/ok').expect(200);
    expect(lines.find((l) => l.msg === 'handler says')).toMatchObject({ level: 40, detail: 1, req: { method: 'GET', url: '/ok' } });
  });

  it('logs the server\'s own failures at error level', async () => {
    const { a, lines } = app();
    await request(a).get('/boom').expect(503);
    expect(lines.find((l) => l.msg === 'request errored')).toMatchObject({ level: 50, res: { statusCode: 503 }, req: { url: '/boom' } });
  });

  it('leaves out the requests it is told to ignore (health probes), and numbers the others', async () => {
    const { a, lines } = app();
    await request(a).get('/health').expect(200);
    await request(a).get('/ok').expect(200);
    expect(lines.filter((l) => (l.req as { url?: string } | undefined)?.url === '/health')).toEqual([]);
    expect(lines.find((l) => l.msg === 'request completed')).toMatchObject({ req: { id: 2, url: '/ok' } });
  });

  it('logs a request the client gave up on once, as aborted, and never as completed', async () => {
    const { log, lines } = capturingLogger();
    const a = express();
    a.use(requestLog(log));
    let arrived!: () => void;
    const handled = new Promise<void>((resolve) => (arrived = resolve));
    a.get('/slow', () => arrived()); // never answers
    const server = http.createServer(a).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const req = http.get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/slow`);
      req.on('error', () => undefined);
      await handled;
      req.destroy();
      for (let i = 0; i < 100 && !lines.some((l) => l.msg === 'request aborted'); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(lines.filter((l) => l.msg === 'request aborted')).toEqual([expect.objectContaining({ level: 30, req: expect.objectContaining({ url: '/slow' }) })]);
      expect(lines.filter((l) => l.msg === 'request completed')).toEqual([]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
