import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const COOKIE = 'pgharden_token';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '[::1]']);

export const isLoopback = (host: string) => LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);

const same = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** The token a request carries: Authorization: Bearer, the cookie the page got, or ?token= (first visit, EventSource). */
export function presentedToken(req: IncomingMessage, url: URL): string | null {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7);
  const cookie = (req.headers.cookie ?? '')
    .split(';')
    .map((c) => c.trim())
    .find((c) => c.startsWith(`${COOKIE}=`));
  if (cookie) return decodeURIComponent(cookie.slice(COOKIE.length + 1));
  return url.searchParams.get('token');
}

export function authorised(req: IncomingMessage, url: URL, token: string | undefined): boolean {
  if (!token) return true;
  const given = presentedToken(req, url);
  return given !== null && same(given, token);
}

/**
 * Without a token the server answers only to a loopback Host: a web page elsewhere that
 * resolves its own name to 127.0.0.1 (DNS rebinding) must not read the dashboard.
 */
export function hostAllowed(req: IncomingMessage, token: string | undefined): boolean {
  if (token) return true;
  const host = (req.headers.host ?? '').replace(/:\d+$/, '');
  return isLoopback(host);
}

/** Actions come from our own page only: same origin, and a header a cross-site form cannot send. */
export function sameOriginAction(req: IncomingMessage): boolean {
  if (req.headers['x-pgharden-action'] !== '1') return false;
  const origin = req.headers.origin;
  return !origin || origin.replace(/^https?:\/\//, '') === req.headers.host;
}
