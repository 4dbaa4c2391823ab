// The first SIGINT or SIGTERM as an AbortSignal, for commands that stop cleanly when asked (health: until then;
// apply: sends nothing more and reports). Listening only once leaves a second Ctrl-C to Node's default, which
// ends the process at once.

export interface StopSignal {
  signal: AbortSignal;
  /** Stop listening (always call it: a run inside a longer-lived program must not keep its handlers). */
  dispose(): void;
}

export function stopSignal(): StopSignal {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
