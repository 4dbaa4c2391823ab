// The first SIGINT or SIGTERM as an AbortSignal, for commands that stop cleanly when asked (health: until then;
// apply: sends nothing more and reports). The first signal of either kind ends the listening for both, so a
// second one (Ctrl-C twice, or a service manager's SIGTERM after a Ctrl-C) falls to Node's default and ends the
// process at once.

export interface StopSignal {
  signal: AbortSignal;
  /** Stop listening (always call it: a run inside a longer-lived program must not keep its handlers). */
  dispose(): void;
}

export function stopSignal(): StopSignal {
  const controller = new AbortController();
  const dispose = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  const onSignal = (): void => {
    dispose();
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { signal: controller.signal, dispose };
}
