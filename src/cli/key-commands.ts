/** `scrapeds keys create|list|revoke`: API key management through /admin/keys (needs an admin key). */
import { client, out, type GlobalOptions } from './commands.js';

interface ApiKeyView { id: string; name: string; scopes: string[]; created_at: string; revoked_at: string | null }

/** Prints the plain key alone on stdout (so `KEY=$(scrapeds keys create …)` works); the rest goes to stderr. */
export async function createKey(g: GlobalOptions, o: { scopes: string; name: string }): Promise<number> {
  const scopes = o.scopes.split(',').map((s) => s.trim()).filter(Boolean);
  const key = await client(g).json<ApiKeyView & { key: string }>('POST', '/admin/keys', { scopes, name: o.name });
  if (g.json) out(JSON.stringify(key));
  else {
    out(key.key);
    process.stderr.write(`created key ${key.id} "${key.name}" (${key.scopes.join(', ')}); the key above is shown this once: store it now\n`);
  }
  return 0;
}

export async function listKeys(g: GlobalOptions): Promise<number> {
  const { items } = await client(g).json<{ items: ApiKeyView[] }>('GET', '/admin/keys');
  if (g.json) out(JSON.stringify(items));
  else for (const k of items) out([k.id, k.name, k.scopes.join(','), k.created_at, k.revoked_at ? `revoked ${k.revoked_at}` : 'active'].join('\t'));
  return 0;
}

export async function revokeKey(g: GlobalOptions, id: string): Promise<number> {
  await client(g).request('DELETE', `/admin/keys/${encodeURIComponent(id)}`);
  if (!g.json) out(`revoked key ${id}`);
  return 0;
}
