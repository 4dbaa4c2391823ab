// Unknown keys of an options object are refused, not ignored: from JavaScript, `{ dryrun: true }` for
// `{ dryRun: true }` would otherwise carry out a real apply, and `{ purne: true }` would silently not prune.
// Every public entry point that takes options checks them with onlyKnownOptions before it sends or
// changes anything. It lives here, the lowest layer with ValidationError that every user (client,
// rules, reconcile, health, the fake kernel) may import.

import { ValidationError } from './errors.js';

/** The keys an options object may have, and the path its refusals name ('' for the key alone, 'drain', 'FakeKernelOptions'). */
export class OptionKeys {
  constructor(
    readonly path: string,
    readonly names: readonly string[],
  ) {}
}

/**
 * OptionKeys for an options type: `keys` must list every key of T and no other (a mapped type, so an
 * option added to the type without its entry here, or a stale entry, fails to compile).
 */
export function optionKeys<T extends object>(path: string, keys: { readonly [K in keyof Required<T>]: true }): OptionKeys {
  return new OptionKeys(path, Object.keys(keys));
}

/**
 * `options`, checked to be an object whose own enumerable string keys are all in `keys`: an unknown key is
 * refused whatever its value (undefined too), with the closest known key as a suggestion. Symbol keys and
 * inherited keys are passed over: a class instance's methods and a tag are not options. `path` names
 * the object where it is one of several (`FakeKernelOptions.interfaces[2]`).
 */
export function onlyKnownOptions<O>(options: O, keys: OptionKeys, path = keys.path): O & object {
  if (typeof options !== 'object' || options === null) throw new ValidationError(path === '' ? 'options' : path, options, 'must be an object');
  for (const key in options) {
    if (keys.names.includes(key) || !Object.hasOwn(options, key)) continue;
    const near = closestKey(key, keys.names);
    const hint = near === undefined ? '' : ` (did you mean ${near}?)`;
    const field = path === '' ? key : `${path}.${key}`;
    throw new ValidationError(field, (options as Record<string, unknown>)[key], `unknown option${hint}; expected one of ${keys.names.join(', ')}`);
  }
  return options;
}

/** The known key equal to `key` but for case, else the nearest within an edit distance of 2. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const sameBut = known.find((k) => k.toLowerCase() === lower);
  if (sameBut !== undefined) return sameBut;
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase(), bestDistance);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance of a and b, or `limit` when it is `limit` or more (keys are short; two rows suffice). */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const v = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      row.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin >= limit) return limit;
    prev = row;
  }
  return Math.min(prev[b.length]!, limit);
}

/**
 * A boolean option's value: `fallback` when it is left out. Anything but true or false is refused by name:
 * read as JavaScript truth, `{ dryRun: 'false' }` would do a dry run and `{ removeServices: 'no' }` remove.
 */
export function booleanOption(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ValidationError(field, value, 'must be true or false');
  return value;
}

/** An AbortSignal, from this realm or another (a look at its members rather than instanceof). */
export function isAbortSignal(value: unknown): value is AbortSignal {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Partial<Record<'aborted' | 'addEventListener' | 'removeEventListener' | 'throwIfAborted', unknown>>;
  return typeof s.aborted === 'boolean' && typeof s.addEventListener === 'function' && typeof s.removeEventListener === 'function' && typeof s.throwIfAborted === 'function';
}

/** A `signal` option: undefined or an AbortSignal; its controller, or anything else, is refused by name. */
export function signalOption(value: unknown, field = 'signal'): AbortSignal | undefined {
  if (value === undefined || isAbortSignal(value)) return value;
  const controller = typeof value === 'object' && value !== null && isAbortSignal((value as { signal?: unknown }).signal);
  throw new ValidationError(field, value, controller ? "must be an AbortSignal: pass the controller's .signal, not the controller" : 'must be an AbortSignal');
}
