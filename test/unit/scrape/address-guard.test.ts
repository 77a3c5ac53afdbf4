import type dns from 'node:dns';
import { guardedLookup, isAddressAllowed, validateAddressPolicy, type AddressPolicy, type Resolver } from '../../../src/scrape/address-guard.js';
import { ScrapeError } from '../../../src/scrape/scrape-error.js';

const strict: AddressPolicy = { allowPrivate: false, allowCidrs: [] };

describe('isAddressAllowed (decision only: nothing here is ever dialled)', () => {
  it.each([
    '127.0.0.1', '127.255.255.254', '::1', '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.1.1', '169.254.169.254',
    '100.64.0.1', '0.0.0.0', '224.0.0.1', '239.255.255.250', '240.0.0.1', '255.255.255.255', '192.0.2.1', '198.18.0.1',
    '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '64:ff9b::a00:1', '64:ff9b::127.0.0.1',
    '2002:7f00:1::1', '2001::1', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'fe80::1%eth0', 'ff02::1', '::', '::127.0.0.1',
  ])('refuses %s', (ip) => {
    expect(isAddressAllowed(ip, strict)).toBe(false);
  });

  it.each(['8.8.8.8', '93.184.216.34', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '2a00:1450:4001::200e', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'])(
    'allows the public address %s',
    (ip) => {
      expect(isAddressAllowed(ip, strict)).toBe(true);
    },
  );

  // Every IPv6 form that embeds an IPv4 address is judged as that address (issue 8: ::ffff:0:a.b.c.d got through).
  it.each([
    ['IPv4-translated', '::ffff:0:127.0.0.1'],
    ['IPv4-translated, hex', '::ffff:0:7f00:1'],
    ['IPv4-translated metadata', '::ffff:0:169.254.169.254'],
    ['IPv4-translated private', '::ffff:0:10.0.0.1'],
    ['IPv4-mapped, long form', '0:0:0:0:0:ffff:7f00:1'],
    ['NAT64 well-known', '64:ff9b::192.168.0.1'],
    ['NAT64 local-use, /96 layout', '64:ff9b:1::7f00:1'],
    ['NAT64 local-use, /48 layout', '64:ff9b:1:7f00:0:100::'],
    ['NAT64 local-use, public in one place, zeros in the others', '64:ff9b:1::808:808'],
    ['6to4 of 10.0.0.1', '2002:a00:1::1'],
    ['6to4 of 192.168.1.1', '2002:c0a8:101::'],
    ['Teredo, client 127.0.0.1', '2001:0:4136:e378:8000:63bf:80ff:fffe'],
    ['Teredo, client 10.0.0.1', '2001:0:4136:e378:8000:63bf:f5ff:fffe'],
    ['Teredo, server 10.0.0.1', '2001:0:a00:1:8000:63bf:f7f7:f7f7'],
    ['Teredo, RFC 4380 example (documentation client)', '2001:0:4136:e378:8000:63bf:3fff:fdd2'],
  ])('refuses %s %s', (_form, ip) => {
    expect(isAddressAllowed(ip, strict)).toBe(false);
  });

  it.each([
    ['IPv4-translated', '::ffff:0:8.8.8.8'],
    ['NAT64 well-known', '64:ff9b::1.1.1.1'],
    ['Teredo, public server and client', '2001:0:4136:e378:8000:63bf:f7f7:f7f7'],
  ])('allows %s of a public address (%s)', (_form, ip) => {
    expect(isAddressAllowed(ip, strict)).toBe(true);
  });

  it('applies an IPv4 allow list to every form embedding that IPv4 address', () => {
    const policy = { allowPrivate: false, allowCidrs: ['10.0.0.0/8'] };
    for (const ip of ['10.1.2.3', '::ffff:10.1.2.3', '::ffff:0:10.1.2.3', '64:ff9b::a01:203', '2002:a01:203::1']) expect({ ip, ok: isAddressAllowed(ip, policy) }).toEqual({ ip, ok: true });
    for (const ip of ['::ffff:0:127.0.0.1', '64:ff9b::7f00:1']) expect({ ip, ok: isAddressAllowed(ip, policy) }).toEqual({ ip, ok: false });
  });

  it('refuses what is not an IP address', () => {
    expect(isAddressAllowed('localhost', strict)).toBe(false);
    expect(isAddressAllowed('', strict)).toBe(false);
  });

  it('allows everything with allowPrivate', () => {
    const open = { allowPrivate: true, allowCidrs: [] };
    for (const ip of ['127.0.0.1', '::1', '10.0.0.1', '169.254.169.254', 'fe80::1']) expect(isAddressAllowed(ip, open)).toBe(true);
  });

  it('allows exactly the configured ranges with allowCidrs', () => {
    const policy = { allowPrivate: false, allowCidrs: ['127.0.0.0/8', 'fd00::/8', '192.168.1.7'] };
    expect(isAddressAllowed('127.0.0.1', policy)).toBe(true);
    expect(isAddressAllowed('127.9.9.9', policy)).toBe(true);
    expect(isAddressAllowed('::ffff:127.0.0.1', policy)).toBe(true);
    expect(isAddressAllowed('fd00::5', policy)).toBe(true);
    expect(isAddressAllowed('192.168.1.7', policy)).toBe(true);
    expect(isAddressAllowed('192.168.1.8', policy)).toBe(false);
    expect(isAddressAllowed('10.0.0.1', policy)).toBe(false);
    expect(isAddressAllowed('::1', policy)).toBe(false);
    expect(isAddressAllowed('8.8.8.8', policy)).toBe(true);
  });

  it('rejects a malformed allow list', () => {
    expect(() => validateAddressPolicy({ allowPrivate: false, allowCidrs: ['10.0.0.0/33'] })).toThrow(/invalid CIDR/);
    expect(() => validateAddressPolicy({ allowPrivate: false, allowCidrs: ['intranet'] })).toThrow(/invalid CIDR/);
  });
});

describe('guardedLookup with a stubbed resolver', () => {
  const table: Record<string, dns.LookupAddress[]> = {
    'evil.test': [{ address: '127.0.0.1', family: 4 }],
    'metadata.test': [{ address: '169.254.169.254', family: 4 }],
    'mixed.test': [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.1', family: 4 },
    ],
    'translated.test': [{ address: '::ffff:0:7f00:1', family: 6 }],
    'nat64.test': [{ address: '64:ff9b::a9fe:a9fe', family: 6 }],
    'teredo.test': [{ address: '2001:0:4136:e378:8000:63bf:80ff:fffe', family: 6 }],
    'public.test': [
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1::1', family: 6 },
    ],
  };
  const resolver: Resolver = (hostname, _options, callback) => {
    const addresses = table[hostname];
    if (addresses) setImmediate(() => callback(null, addresses));
    else setImmediate(() => callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []));
  };
  const lookup = guardedLookup(strict, resolver);

  function resolve(hostname: string, options: dns.LookupOptions) {
    return new Promise<{ err: NodeJS.ErrnoException | null; address: string | dns.LookupAddress[]; family?: number }>((done) =>
      lookup(hostname, options, (err, address, family) => done({ err, address, family })),
    );
  }

  it.each([
    ['evil.test', '127.0.0.1'],
    ['metadata.test', '169.254.169.254'],
    ['mixed.test', '10.0.0.1'],
    ['translated.test', '::ffff:0:7f00:1'],
    ['nat64.test', '64:ff9b::a9fe:a9fe'],
    ['teredo.test', '2001:0:4136:e378:8000:63bf:80ff:fffe'],
  ])('refuses %s, which resolves to %s', async (hostname, address) => {
    const { err } = await resolve(hostname, { all: true });
    expect(err).toBeInstanceOf(ScrapeError);
    expect(err).toMatchObject({ code: 'blocked_address', details: { address } });
    expect(err?.message).toContain(hostname);
  });

  it('answers in the form asked for', async () => {
    expect(await resolve('public.test', { all: true })).toMatchObject({ err: null, address: table['public.test'] });
    expect(await resolve('public.test', {})).toMatchObject({ err: null, address: '93.184.216.34', family: 4 });
  });

  it('passes resolver errors through', async () => {
    const { err } = await resolve('nowhere.test', {});
    expect(err?.code).toBe('ENOTFOUND');
  });
});
