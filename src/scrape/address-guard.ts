/**
 * The SSRF guard: which IP addresses a fetch may connect to. Users hand us arbitrary URLs, so without this
 * a task could read cloud metadata (169.254.169.254), admin ports on loopback, or the private network.
 */
import dns from 'node:dns';
import net from 'node:net';
import { ScrapeError } from './scrape-error.js';

export interface AddressPolicy {
  /** Allow every address (tests against a local fixture site, trusted deployments). */
  allowPrivate: boolean;
  /** Ranges allowed even though they are private or reserved, e.g. '10.1.0.0/16' or a single address. */
  allowCidrs: string[];
}

type Range = readonly [network: string, prefix: number];

const REFUSED_V4: Range[] = [
  ['0.0.0.0', 8], // "this network"; 0.0.0.0 reaches the local host on Linux
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, including cloud metadata endpoints
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation ranges are never legitimate targets
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, includes 255.255.255.255
];

const REFUSED_V6: Range[] = [
  ['::', 96], // unspecified, loopback and the deprecated IPv4-compatible form
  ['64:ff9b:1::', 48], // local-use NAT64 may translate to private IPv4
  ['100::', 64], // discard-only
  ['2001::', 32], // Teredo: tunnels to an IPv4 address we cannot judge reliably
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // deprecated site-local
  ['ff00::', 8], // multicast
];

const refused = new net.BlockList();
for (const [network, prefix] of REFUSED_V4) refused.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of REFUSED_V6) refused.addSubnet(network, prefix, 'ipv6');

/** Compiled allow lists, keyed by their text: policies are few and long-lived, decisions are many. */
const allowLists = new Map<string, net.BlockList>();

function allowListFor(cidrs: string[]): net.BlockList {
  const key = cidrs.join(',');
  let list = allowLists.get(key);
  if (!list) {
    list = new net.BlockList();
    for (const cidr of cidrs) addCidr(list, cidr);
    allowLists.set(key, list);
  }
  return list;
}

function addCidr(list: net.BlockList, cidr: string): void {
  const [address = '', prefixText, ...rest] = cidr.trim().split('/');
  const family = net.isIP(address);
  const prefix = prefixText === undefined ? (family === 6 ? 128 : 32) : Number(prefixText);
  const max = family === 6 ? 128 : 32;
  if (!family || rest.length > 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    throw new Error(`invalid CIDR in allow list: ${JSON.stringify(cidr)}`);
  }
  list.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
}

/** Throws on a malformed allow list, so a bad configuration fails at startup rather than on every fetch. */
export function validateAddressPolicy(policy: AddressPolicy): void {
  allowListFor(policy.allowCidrs);
}

/** The eight 16-bit groups of an IPv6 address, or null. */
function ipv6Groups(ip: string): number[] | null {
  if (!net.isIPv6(ip)) return null;
  // A trailing dotted quad (::ffff:1.2.3.4) is just the last two groups written differently.
  const text = ip.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a: string, b: string, c: string, d: string) =>
    `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`,
  );
  const [head = '', rest] = text.split('::');
  const parse = (s: string) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = rest === undefined ? [] : parse(rest);
  const groups = rest === undefined ? left : [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
  return groups.length === 8 ? groups : null;
}

function v4FromGroups(hi: number, lo: number): string {
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
}

/** The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4), so it is judged as that address. */
function embeddedIPv4(groups: number[]): string | undefined {
  const [g0, g1, g2, g3, g4, g5, g6 = 0, g7 = 0] = groups;
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff) return v4FromGroups(g6, g7);
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return v4FromGroups(g6, g7);
  if (g0 === 0x2002) return v4FromGroups(g1 ?? 0, g2 ?? 0);
  return undefined;
}

export function isAddressAllowed(ip: string, policy: AddressPolicy): boolean {
  if (policy.allowPrivate) return true;
  const allow = allowListFor(policy.allowCidrs);
  // A zone id (fe80::1%eth0) does not change which network the address is in.
  const address = ip.replace(/%.*$/, '');
  const family = net.isIP(address);
  if (family === 4) return allow.check(address, 'ipv4') || !refused.check(address, 'ipv4');
  if (family !== 6) return false;
  if (allow.check(address, 'ipv6')) return true;
  if (refused.check(address, 'ipv6')) return false;
  const groups = ipv6Groups(address);
  if (!groups) return false;
  const v4 = embeddedIPv4(groups);
  if (v4 === undefined) return true;
  return allow.check(v4, 'ipv4') || !refused.check(v4, 'ipv4');
}

export type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;
/** The shape of `dns.lookup` with `all: true`; injectable so tests can resolve names without DNS. */
export type Resolver = (hostname: string, options: dns.LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void) => void;

const systemResolver: Resolver = (hostname, options, callback) => dns.lookup(hostname, options, callback);

/**
 * A `lookup` for net.connect that refuses names resolving to a refused address. Every address is checked,
 * not just the first, and the checked addresses are the ones connected to, so DNS rebinding between the
 * check and the connect cannot slip through.
 */
export function guardedLookup(policy: AddressPolicy, resolve: Resolver = systemResolver) {
  validateAddressPolicy(policy);
  return function lookup(hostname: string, options: dns.LookupOptions | number, callback: LookupCallback): void {
    const opts: dns.LookupOptions = typeof options === 'number' ? { family: options } : options;
    resolve(hostname, { ...opts, all: true }, (err, addresses) => {
      if (err) return callback(err, opts.all ? [] : '', 0);
      const refusedAddress = addresses.find((a) => !isAddressAllowed(a.address, policy));
      if (refusedAddress) {
        const blocked = new ScrapeError('blocked_address', `${hostname} resolves to ${refusedAddress.address}, a private or reserved address`, {
          address: refusedAddress.address,
        });
        return callback(blocked, opts.all ? [] : '', 0);
      }
      const first = addresses[0];
      if (!first) {
        const none: NodeJS.ErrnoException = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
        return callback(none, opts.all ? [] : '', 0);
      }
      if (opts.all) callback(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}
