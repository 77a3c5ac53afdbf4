import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../../src/config.js';
import { tempDir } from '../../helpers/temp.js';

describe('shared-service configuration', () => {
  it('defaults to loopback with no keys, no limits, the usual trusted proxies', () => {
    const c = loadConfig({});
    expect(c.host).toBe('127.0.0.1');
    expect(c.ops).toMatchObject({ auth: 'off', publicMedia: true, rateRules: [], trustProxy: 'loopback, uniquelocal', statsFlushMs: 10_000, metricsPort: 0 });
  });

  it('reads TRUST_PROXY as Express takes it', () => {
    expect(loadConfig({ TRUST_PROXY: 'false' }).ops.trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '2' }).ops.trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8' }).ops.trustProxy).toBe('10.0.0.0/8');
  });

  it('reads rate limits from RATE_LIMITS or a file, and names the variable of a bad rule', () => {
    expect(loadConfig({ RATE_LIMITS: 'ip 5/s' }).ops.rateRules).toHaveLength(1);
    const file = path.join(tempDir(), 'limits');
    fs.writeFileSync(file, '# limits\nip 5/s\nkey POST /text_tasks 1/m burst 3\n');
    expect(loadConfig({ RATE_LIMITS_FILE: file }).ops.rateRules.map((r) => r.name)).toEqual(['r1', 'r2']);
    expect(() => loadConfig({ RATE_LIMITS: 'ip lots' })).toThrow(/RATE_LIMITS: rate limit rule 1 "ip lots"/);
    expect(() => loadConfig({ RATE_LIMITS_FILE: `${file}-missing` })).toThrow(/RATE_LIMITS_FILE: .*ENOENT/);
  });
});
