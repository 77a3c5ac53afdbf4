/**
 * The SSRF guard: which IP addresses a fetch may connect to. Users hand us arbitrary URLs, so without this
 * a task could read cloud metadata (169.254.169.254), admin ports on loopback, or the private network.
 */
import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
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
  ['100::', 64], // discard-only
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

/**
 * Where IPv6 forms carry an IPv4 address, as byte offsets into the 16 bytes of the IPv6 address. Such an
 * address reaches (through a translator, relay or tunnel) the IPv4 host it embeds, so it is judged as
 * that host: `::ffff:0:127.0.0.1` is loopback however it is written.
 */
const EMBEDDINGS: ReadonlyArray<{ range: [ipaddr.IPv6, number]; offsets: number[][] }> = [
  // RFC 4291 IPv4-mapped ::ffff:a.b.c.d and RFC 6145 IPv4-translated ::ffff:0:a.b.c.d
  { range: ipaddr.IPv6.parseCIDR('::ffff:0:0/96'), offsets: [[12, 13, 14, 15]] },
  { range: ipaddr.IPv6.parseCIDR('::ffff:0:0:0/96'), offsets: [[12, 13, 14, 15]] },
  // RFC 6052 well-known NAT64 prefix
  { range: ipaddr.IPv6.parseCIDR('64:ff9b::/96'), offsets: [[12, 13, 14, 15]] },
  // RFC 8215 local-use NAT64: the operator picks the prefix length (/48 to /96) and with it where the IPv4
  // address sits (RFC 6052 2.2, skipping byte 8); every place it could be must hold an allowed address.
  {
    range: ipaddr.IPv6.parseCIDR('64:ff9b:1::/48'),
    offsets: [
      [6, 7, 9, 10],
      [7, 9, 10, 11],
      [9, 10, 11, 12],
      [12, 13, 14, 15],
    ],
  },
  // RFC 3056 6to4: 2002:AABB:CCDD::/48
  { range: ipaddr.IPv6.parseCIDR('2002::/16'), offsets: [[2, 3, 4, 5]] },
  // RFC 4380 Teredo: the server's address, and the client's (stored inverted, see below)
  {
    range: ipaddr.IPv6.parseCIDR('2001::/32'),
    offsets: [
      [4, 5, 6, 7],
      [-12, -13, -14, -15],
    ],
  },
];

/** The IPv4 addresses an IPv6 address embeds, or [] when it embeds none. Negative offsets mean "inverted". */
function embeddedIPv4s(address: string): string[] {
  const v6 = ipaddr.IPv6.parse(address);
  const bytes = v6.toByteArray();
  const embedding = EMBEDDINGS.find((e) => v6.match(e.range));
  if (!embedding) return [];
  return embedding.offsets.map((offsets) => offsets.map((o) => (o < 0 ? ~(bytes[-o] ?? 0) & 0xff : (bytes[o] ?? 0))).join('.'));
}

const v4Allowed = (v4: string, allow: net.BlockList) => allow.check(v4, 'ipv4') || !refused.check(v4, 'ipv4');

export function isAddressAllowed(ip: string, policy: AddressPolicy): boolean {
  if (policy.allowPrivate) return true;
  const allow = allowListFor(policy.allowCidrs);
  // A zone id (fe80::1%eth0) does not change which network the address is in.
  const address = ip.replace(/%.*$/, '');
  const family = net.isIP(address);
  if (family === 4) return v4Allowed(address, allow);
  if (family !== 6) return false;
  if (allow.check(address, 'ipv6')) return true;
  const embedded = embeddedIPv4s(address);
  if (embedded.length > 0) return embedded.every((v4) => v4Allowed(v4, allow));
  return !refused.check(address, 'ipv6');
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
