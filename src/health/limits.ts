// How much of an HTTP response a check reads: the headers (Node's own default is 16 KiB, which a healthy
// application with a large Content-Security-Policy or cookies can exceed) and the part of the body a
// `body` rule is matched against. Both bounded, so a server sending endless data costs little. And how many
// checks run at once by default, so that the checker does not run out of descriptors of its own.

import { readFileSync } from 'node:fs';

export const HTTP_HEADER_LIMIT = 64 * 1024;
export const HTTP_BODY_LIMIT = 64 * 1024;

/**
 * The default bound on checks in flight when descriptors are plentiful, for a config whose checks would need
 * fewer at once if they all timed out (worstCaseChecksInFlight, config.ts): 1 024 checks of 2 s (the default
 * timeout) at a time are 512 a second, some 3 600 servers at the default interval and timeout all timing out.
 * A bigger config gets what it needs (4 000 such servers: 1 143), as far as descriptors allow.
 */
export const DEFAULT_CHECKS_IN_FLIGHT_MAX = 1024;

/**
 * The default bound on checks in flight (a config's `maxChecksInFlight`): a quarter of the process's limit on
 * open files, from 1 to DEFAULT_CHECKS_IN_FLIGHT_MAX or to `needed` (the config's worst case) when that is more.
 * A check holds one descriptor while it runs (its socket; the check that explains a timeout one more, briefly),
 * and the quarter leaves the rest to Node itself and to the program the checker runs in: 256 under the common
 * `ulimit -n 1024`. Read from /proc/self/limits (the soft limit, which Node raises to the hard one as it starts);
 * unreadable, the ceiling alone.
 */
export function defaultChecksInFlight(limits?: string, needed = 0): number {
  const ceiling = Math.max(DEFAULT_CHECKS_IN_FLIGHT_MAX, needed);
  let text = limits;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return ceiling;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
  if (!m || m[1] === 'unlimited') return ceiling;
  return Math.max(1, Math.min(ceiling, Math.floor(Number(m[1]) / 4)));
}
