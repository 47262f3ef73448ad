import { createRequire } from 'node:module';

/**
 * Loads `pg` without its Cloudflare probe's cost; import this module just before `pg`. On load, pg
 * asks "am I in a Cloudflare Worker?" by constructing a `Response` when `navigator` is missing (Node
 * 20): that first touch of the lazy global loads undici and web streams (measured: 0.344 → 0.329 s
 * CPU per `status`). We hide `Response` for that one synchronous require, so pg takes its Node path (the
 * right one here), and put the very same property back at once: nothing else runs in between. The
 * `import pg from 'pg'` that follows gets this cached module.
 */
const require = createRequire(import.meta.url);
const saved = Object.getOwnPropertyDescriptor(globalThis, 'Response');
if (saved) Object.defineProperty(globalThis, 'Response', { value: undefined, configurable: true, writable: true });
try {
  require('pg');
} finally {
  if (saved) Object.defineProperty(globalThis, 'Response', saved);
}
