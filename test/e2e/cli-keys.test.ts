/** `scrapeds keys …` and `--api-key` / SCRAPEDS_API_KEY, as a child process against a service with AUTH=keys. */
import { runCli } from '../helpers/cli.js';
import { serveDatasetSite, type DatasetSite } from '../helpers/batches.js';
import { withSiteAndService } from '../helpers/service.js';

const ADMIN = 'cli-admin-key-0123456789abcdefghij';

describe('scrapeds keys (AUTH=keys)', () => {
  let data: DatasetSite;
  const ctx = withSiteAndService({ AUTH: 'keys', ADMIN_API_KEY: ADMIN, FETCH_RETRIES: '0' }, (site) => {
    data = serveDatasetSite(site);
  });
  const api = () => ['--api', ctx.svc.url];

  it('needs a key: without one every command says 401', async () => {
    const r = await runCli([...api(), 'keys', 'list']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('scrapeds: GET /admin/keys answered 401 Unauthorized: authorization: is required');
  });

  it('keys create prints the plain key once; keys list shows it without the secret; submit and status use it', async () => {
    const created = await runCli([...api(), '--api-key', ADMIN, 'keys', 'create', '--scopes', 'read,write', '--name', 'ci']);
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);
    const id = /created key (\S+) "ci" \(read, write\)/.exec(created.stderr)?.[1] as string;
    expect(id).toEqual(expect.any(String));

    // --api-key after the subcommand works too.
    const list = await runCli([...api(), 'keys', 'list', '--api-key', ADMIN]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${id}\tci\tread,write\t\\S+\tactive$`, 'm'));
    expect(list.stdout).not.toContain(key);
    const json = await runCli([...api(), '--json', 'keys', 'list'], { env: { SCRAPEDS_API_KEY: ADMIN } });
    expect(JSON.parse(json.stdout)).toContainEqual({ id, name: 'ci', scopes: ['read', 'write'], created_at: expect.any(String), revoked_at: null });

    // The new key from the environment: its batch is its own.
    const submitted = await runCli([...api(), '--json', 'submit', '-', '--wait'], { input: `${data.pages[0]}\n`, env: { SCRAPEDS_API_KEY: key } });
    expect(submitted.code).toBe(0);
    const batch = JSON.parse(submitted.stdout);
    expect(batch).toMatchObject({ status: 'completed', counts: { succeeded: 1 } });
    expect((await runCli([...api(), 'status', batch.id, '--api-key', key])).code).toBe(0);
    const other = (await runCli([...api(), '--api-key', ADMIN, 'keys', 'create', '--scopes', 'read', '--name', 'reader'])).stdout.trim();
    const hidden = await runCli([...api(), 'status', batch.id, '--api-key', other]);
    expect(hidden.code).toBe(1);
    expect(hidden.stderr).toContain(`answered 404 Not Found: no batch with id ${batch.id}`);
    const refused = await runCli([...api(), 'submit', '-', '--api-key', other], { input: `${data.pages[0]}\n` });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('answered 403 Forbidden: this API key lacks the "write" scope');

    // keys revoke: the key stops working at once.
    const revoked = await runCli([...api(), 'keys', 'revoke', id, '--api-key', ADMIN]);
    expect([revoked.code, revoked.stdout]).toEqual([0, `revoked key ${id}\n`]);
    const after = await runCli([...api(), 'status', batch.id], { env: { SCRAPEDS_API_KEY: key } });
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('answered 401 Unauthorized: authorization: was revoked');
    const listed = await runCli([...api(), 'keys', 'list', '--api-key', ADMIN]);
    expect(listed.stdout).toMatch(new RegExp(`^${id}\tci\tread,write\t\\S+\trevoked \\S+$`, 'm'));
  }, 120_000);

  it('names the bad field: an unknown scope, a missing name, an unknown key id, a key without the admin scope', async () => {
    const bad = await runCli([...api(), '--api-key', ADMIN, 'keys', 'create', '--scopes', 'read,root', '--name', 'x']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('answered 400 Invalid request: scopes.1: "root" is not a scope; scopes are read, write, admin');
    const noName = await runCli([...api(), '--api-key', ADMIN, 'keys', 'create', '--scopes', 'read']);
    expect(noName.code).toBe(1);
    expect(noName.stderr).toContain("required option '--name <name>' not specified");
    const unknown = await runCli([...api(), '--api-key', ADMIN, 'keys', 'revoke', 'nosuchkey']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('answered 404 Not Found: no API key with id nosuchkey');
    const writer = (await runCli([...api(), '--api-key', ADMIN, 'keys', 'create', '--scopes', 'write', '--name', 'w'])).stdout.trim();
    const forbidden = await runCli([...api(), '--api-key', writer, 'keys', 'list']);
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toContain('answered 403 Forbidden: this API key lacks the "admin" scope');
  }, 60_000);
});
