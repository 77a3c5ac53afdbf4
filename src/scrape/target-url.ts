/** Checks for each URL we send to, redirect targets included: a redirect must not lead where a request could not. */
import net from 'node:net';
import { isAddressAllowed, type AddressPolicy } from './address-guard.js';
import { ScrapeError } from './scrape-error.js';

export function parseUrl(text: string, base?: URL): URL {
  try {
    return new URL(text, base);
  } catch {
    throw new ScrapeError('invalid_url', `not a valid URL: ${text}`);
  }
}

/**
 * Checks scheme and literal IP hosts. Node never calls `lookup` for an IP literal, so the guarded lookup
 * alone would let http://127.0.0.1/ through. WHATWG URL parsing already turned 2130706433 or 0x7f.1 into 127.0.0.1.
 */
export function checkTarget(url: URL, policy: AddressPolicy): URL {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ScrapeError('unsupported_scheme', `only http and https URLs can be fetched, not ${url.protocol.replace(/:$/, '')}`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (net.isIP(host) && !isAddressAllowed(host, policy)) {
    throw new ScrapeError('blocked_address', `${host} is a private or reserved address`, { address: host });
  }
  url.hash = '';
  return url;
}
