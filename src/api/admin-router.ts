/** /admin/keys: create (the plain key is in this answer only), list and revoke API keys. Needs the admin scope. */
import { Router } from 'express';
import { z } from 'zod';
import { SCOPES, type ApiKey, type ApiKeyStore } from '../models/ops-store.js';
import { hashKey, newPlainKey } from '../ops/api-key.js';
import { allowOnly } from './allow-only.js';
import { notFound, ProblemError } from './problem.js';
import { parse } from './validation.js';

const newKeyBody = z.strictObject(
  {
    name: z.string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') }).trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
    scopes: z
      .array(z.enum(SCOPES, { error: (i) => `"${String(i.input)}" is not a scope; scopes are ${SCOPES.join(', ')}` }), { error: 'must be an array of scopes' })
      .min(1, 'must name at least one scope')
      .transform((s) => [...new Set(s)]),
  },
  { error: (i) => (i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : 'must be a JSON object') },
);

const presentKey = (k: ApiKey) => ({ id: k.id, name: k.name, scopes: k.scopes, created_at: k.createdAt, revoked_at: k.revokedAt ?? null });

export function adminRouter(deps: { keys: ApiKeyStore; onRevoke: () => void }): Router {
  const router = Router();

  router.post('/keys', async (req, res) => {
    if (!req.is('application/json')) {
      throw new ProblemError(415, 'Unsupported Media Type', 'send the key request as application/json', [{ field: 'body', message: 'must be application/json' }]);
    }
    const body = parse(newKeyBody, req.body, 'body');
    const plain = newPlainKey();
    const key = await deps.keys.createKey({ name: body.name, scopes: body.scopes, hash: hashKey(plain) });
    res.status(201).location(`/admin/keys/${key.id}`).set('cache-control', 'no-store').json({ ...presentKey(key), key: plain });
  });

  router.get('/keys', async (_req, res) => {
    res.json({ items: (await deps.keys.listKeys()).map(presentKey) });
  });

  router.all('/keys', allowOnly('GET', 'POST'));

  router.delete('/keys/:id', async (req, res) => {
    if (!(await deps.keys.revokeKey(req.params.id as string))) throw notFound(`no API key with id ${req.params.id}`);
    deps.onRevoke();
    res.status(204).end();
  });
  router.all('/keys/:id', allowOnly('DELETE'));

  return router;
}
