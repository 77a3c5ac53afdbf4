/**
 * Rotating egress through HTTP forward proxies (PROXY_URLS). One proxy is current for the process, and a
 * site that refused it gets a rotation of its own: when a site answers 403 or 429 through a proxy (it is
 * banned or throttled there) that site moves to the next proxy, and every other site stays where it was.
 * Each rotation also moves on after `rotateAfterMs`. A proxy that cannot be reached is skipped by all for
 * a backoff that doubles per consecutive failure. Every switch is logged with its reason (and site).
 *
 * http:// targets are sent to the proxy as absolute-URI requests (what every forward proxy accepts; many
 * refuse CONNECT to port 80), https:// targets are tunnelled with CONNECT.
 *
 * The SSRF guard cannot see the address the proxy connects to; see fetcher.ts for how targets are checked.
 */
import type { Logger } from 'pino';
import { ProxyAgent, type Dispatcher } from 'undici';
import { systemClock, type Clock } from './clock.js';
import { ScrapeError } from './scrape-error.js';
import { telemetry } from '../ops/telemetry.js';

export interface ProxyPoolOptions {
  urls: string[];
  /** 0 turns time-based rotation off. */
  rotateAfterMs: number;
  connectTimeoutMs: number;
  log: Logger;
  clock?: Pick<Clock, 'now'>;
  connectionsPerOrigin?: number;
  deadBackoffMs?: number;
  deadBackoffMaxMs?: number;
}

export interface ProxyLease {
  /** The proxy URL with credentials redacted: safe for logs and API answers. */
  readonly label: string;
  readonly dispatcher: Dispatcher;
}

export type SwitchReason = 'blocked' | 'rate_limited' | 'interval' | 'unreachable';

interface Proxy extends ProxyLease {
  failures: number;
  deadUntil: number;
}

/** Which proxy is current, since when: the process's, or one site's after it refused a proxy. */
interface Rotation {
  index: number;
  since: number;
  site?: string;
}

/** Sites remembered with a rotation of their own; past this the oldest falls back to the shared one. */
export const MAX_SITE_ROTATIONS = 10_000;

export const DEAD_BACKOFF_MS = 30_000;
export const DEAD_BACKOFF_MAX_MS = 10 * 60_000;

/** `http://user:secret@host:3128` → `http://***@host:3128`. */
export function redactProxyUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.username || u.password ? '***@' : ''}${u.host}`;
}

/** Throws on anything but http(s) proxy URLs, so a bad PROXY_URLS fails at startup. */
export function validateProxyUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`invalid proxy URL: ${redactSafely(url)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`proxy URLs must be http:// or https://, not ${u.protocol}`);
}

function redactSafely(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

export class ProxyPool {
  private readonly proxies: Proxy[];
  private readonly clock: Pick<Clock, 'now'>;
  private readonly shared: Rotation;
  private readonly bySite = new Map<string, Rotation>();

  constructor(private readonly options: ProxyPoolOptions) {
    if (options.urls.length === 0) throw new Error('a proxy pool needs at least one proxy URL');
    this.clock = options.clock ?? systemClock;
    this.proxies = options.urls.map((uri) => {
      validateProxyUrl(uri);
      const dispatcher = new ProxyAgent({
        uri,
        proxyTunnel: false,
        connections: options.connectionsPerOrigin ?? 6,
        keepAliveTimeout: 10_000,
        proxyTls: { timeout: options.connectTimeoutMs },
        requestTls: { timeout: options.connectTimeoutMs },
      });
      return { label: redactProxyUrl(uri), dispatcher, failures: 0, deadUntil: -Infinity };
    });
    this.shared = { index: 0, since: this.clock.now() };
  }

  get size(): number {
    return this.proxies.length;
  }

  /** The proxy to use now for `site` (a host name); throws proxy_error when every proxy is in its unreachable backoff. */
  current(site?: string): ProxyLease {
    const rotation = (site !== undefined && this.bySite.get(site)) || this.shared;
    const now = this.clock.now();
    if (this.options.rotateAfterMs > 0 && this.proxies.length > 1 && now - rotation.since >= this.options.rotateAfterMs) {
      this.advance(rotation, 'interval', {});
    }
    const live = this.nextLive(rotation.index, now);
    if (live === undefined) {
      const soonest = Math.min(...this.proxies.map((p) => p.deadUntil));
      throw new ScrapeError('proxy_error', `all ${this.proxies.length} proxies are unreachable; the first is tried again in ${Math.ceil((soonest - now) / 1000)} s`);
    }
    if (live !== rotation.index) this.switchTo(rotation, live, 'unreachable', {});
    return this.proxies[live] as Proxy;
  }

  /**
   * A site refused traffic through `lease` (403) or throttled it (429): that site moves on, unless another of
   * its fetches already has. Returns whether a different proxy is now current for it, i.e. whether trying
   * again can change anything.
   */
  refused(lease: ProxyLease, status: number, url: string): boolean {
    if (this.proxies.length < 2) return false;
    const site = new URL(url).hostname;
    let rotation = this.bySite.get(site);
    if (!rotation) {
      rotation = { index: this.shared.index, since: this.shared.since, site };
      this.bySite.set(site, rotation);
      if (this.bySite.size > MAX_SITE_ROTATIONS) this.bySite.delete(this.bySite.keys().next().value as string);
    }
    if (this.proxies[rotation.index] === lease) this.advance(rotation, status === 429 ? 'rate_limited' : 'blocked', { status, url });
    return this.proxies[rotation.index] !== lease;
  }

  /** The proxy itself could not be reached: every site skips it for a while, longer each time in a row. */
  unreachable(lease: ProxyLease, error: string): void {
    const proxy = lease as Proxy;
    const now = this.clock.now();
    if (proxy.deadUntil > now) return; // concurrent failures of one outage count once
    const base = this.options.deadBackoffMs ?? DEAD_BACKOFF_MS;
    const backoff = Math.min(this.options.deadBackoffMaxMs ?? DEAD_BACKOFF_MAX_MS, base * 2 ** proxy.failures);
    proxy.failures++;
    proxy.deadUntil = now + backoff;
    this.options.log.warn({ proxy: proxy.label, backoffMs: backoff, error }, 'proxy unreachable');
    // Sites with rotations of their own move off it when they next ask (current skips dead proxies).
    if (this.proxies[this.shared.index] === proxy && this.proxies.length > 1) {
      const live = this.nextLive(this.shared.index + 1, now);
      if (live !== undefined && live !== this.shared.index) this.switchTo(this.shared, live, 'unreachable', { error });
    }
  }

  succeeded(lease: ProxyLease): void {
    (lease as Proxy).failures = 0;
  }

  close(): Promise<void> {
    return Promise.all(this.proxies.map((p) => p.dispatcher.destroy())).then(() => undefined);
  }

  private nextLive(from: number, now: number): number | undefined {
    for (let i = 0; i < this.proxies.length; i++) {
      const candidate = (from + i) % this.proxies.length;
      if ((this.proxies[candidate] as Proxy).deadUntil <= now) return candidate;
    }
    return undefined;
  }

  private advance(rotation: Rotation, reason: SwitchReason, context: Record<string, unknown>): void {
    const next = this.nextLive(rotation.index + 1, this.clock.now()) ?? (rotation.index + 1) % this.proxies.length;
    if (next === rotation.index) rotation.since = this.clock.now(); // the others are all down: stay
    else this.switchTo(rotation, next, reason, context);
  }

  private switchTo(rotation: Rotation, index: number, reason: SwitchReason, context: Record<string, unknown>): void {
    // Every switch counts, whatever led to it (an interval, a refusal, or a proxy found unreachable).
    telemetry.proxyRotated(reason);
    const from = this.proxies[rotation.index] as Proxy;
    rotation.index = index;
    rotation.since = this.clock.now();
    const site = rotation.site === undefined ? {} : { site: rotation.site };
    this.options.log.info({ from: from.label, to: (this.proxies[index] as Proxy).label, reason, ...site, ...context }, 'proxy switched');
  }
}

/** The proxy itself could not be reached or would not serve us: the pool skips it and the fetch moves on. */
export class ProxyUnreachableError extends ScrapeError {
  constructor(
    readonly proxy: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('proxy_error', message, {}, options);
  }
}
