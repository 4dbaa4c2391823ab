// The first SIGINT or SIGTERM as an AbortSignal, for commands that stop cleanly when asked (health: until then;
// apply: sends nothing more and reports). A second one of either kind (Ctrl-C twice, or a service manager's SIGTERM
// after a Ctrl-C) ends the process at once, killed by that signal as Node's default would have it.
//
// Both listeners stay until dispose(), and the second signal is raised again once they are gone, rather than the
// first signal removing them and leaving the second to Node: libuv drops a signal that arrives in the same turn of
// the event loop as the first (a busy loop, a slow machine) once its listener has been removed, so the second one
// was then lost and the command went on to its end.

export interface StopSignal {
  signal: AbortSignal;
  /** Stop listening (always call it: a run inside a longer-lived program must not keep its handlers). */
  dispose(): void;
}

export function stopSignal(): StopSignal {
  const controller = new AbortController();
  const dispose = (): void => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  };
  const onSignal = (name: 'SIGINT' | 'SIGTERM'): void => {
    if (!controller.signal.aborted) {
      controller.abort();
      return;
    }
    // Without our listeners the signal takes its default action (unless the program has listeners of its own).
    dispose();
    process.kill(process.pid, name);
  };
  const onInt = (): void => onSignal('SIGINT');
  const onTerm = (): void => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return { signal: controller.signal, dispose };
}
