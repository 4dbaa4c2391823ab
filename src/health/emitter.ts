// A small typed event emitter for the checker's events. Not Node's EventEmitter on purpose: an 'error'
// event with no listener must not throw (the checker never takes the process down), and a listener that
// throws, or an async one whose promise rejects, is reported to the checker (which logs it) instead of breaking
// the check loop that emitted or ending the process with an unhandled rejection.

// `void`, not `void | PromiseLike<void>`: that union would refuse `(e) => list.push(e)`; an async function is a
// `void` one all the same, and what it returns is looked at in emit().
type Listener<T> = (event: T) => void;

export class TypedEmitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();
  /** once()'s wrappers, to the listener each wraps (for off()). */
  private readonly onceOf = new WeakMap<Listener<never>, unknown>();

  constructor(private readonly onListenerError: (error: unknown, event: keyof Events) => void) {}

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return this;
  }

  /** Removes `listener`, also when it was added by once() and has not run yet (as Node's EventEmitter does). */
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const set = this.listeners.get(event);
    if (set === undefined) return this;
    if (!set.delete(listener as Listener<never>)) {
      for (const l of set) {
        if (this.onceOf.get(l) === listener) {
          set.delete(l);
          break;
        }
      }
    }
    return this;
  }

  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const wrapped: Listener<Events[K]> = (e) => {
      this.off(event, wrapped);
      return listener(e);
    };
    this.onceOf.set(wrapped as Listener<never>, listener);
    return this.on(event, wrapped);
  }

  protected emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        const returned: unknown = (listener as Listener<Events[K]>)(payload);
        if (isThenable(returned)) returned.then(undefined, (err: unknown) => this.onListenerError(err, event));
      } catch (err) {
        this.onListenerError(err, event);
      }
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
