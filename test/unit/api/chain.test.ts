import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import request from 'supertest';
import { chain } from '../../../src/api/chain.js';

/** An app whose one chained layer runs `handlers`, then answers 200 with what ran; errors become 500 with their message. */
function app(handlers: RequestHandler[]) {
  const a = express();
  a.use(chain(handlers));
  a.get('/', (_req, res) => void res.json({ ran: res.locals.ran ?? [] }));
  const onError: ErrorRequestHandler = (err: Error, _req, res, _next) => void res.status(500).json({ error: err.message });
  a.use(onError);
  return a;
}

const mark = (name: string): RequestHandler => (_req, res, next) => {
  res.locals.ran = [...((res.locals.ran as string[] | undefined) ?? []), name];
  next();
};

describe('chain', () => {
  it('runs the middlewares in order, then the routes after it', async () => {
    expect((await request(app([mark('a'), mark('b'), mark('c')])).get('/').expect(200)).body).toEqual({ ran: ['a', 'b', 'c'] });
  });

  it('sends an error passed to next, thrown, or rejected to the error handler, skipping what follows', async () => {
    const passed: RequestHandler = (_req, _res, next) => next(new Error('passed'));
    const thrown: RequestHandler = () => {
      throw new Error('thrown');
    };
    const rejected: RequestHandler = async () => {
      await Promise.resolve();
      throw new Error('rejected');
    };
    for (const [handler, message] of [[passed, 'passed'], [thrown, 'thrown'], [rejected, 'rejected']] as const) {
      const res = await request(app([mark('a'), handler, mark('never')])).get('/').expect(500);
      expect(res.body).toEqual({ error: message });
    }
  });

  it('lets a middleware answer by itself, and an async one pass on after awaiting', async () => {
    const answers: RequestHandler = (_req, res) => void res.status(204).end();
    await request(app([mark('a'), answers, mark('never')])).get('/').expect(204);
    const later: RequestHandler = async (_req, _res, next) => {
      await new Promise((resolve) => setImmediate(resolve));
      next();
    };
    expect((await request(app([later, mark('b')])).get('/').expect(200)).body).toEqual({ ran: ['b'] });
  });
});
