/**
 * The one owner of signal handling in a process. SIGTERM and SIGINT (and SIGHUP) all start the
 * same graceful shutdown once; a second signal while shutting down forces an immediate exit, the
 * way people expect a second Ctrl-C to behave.
 */
export type ShutdownSignal = 'SIGTERM' | 'SIGINT' | 'SIGHUP';

export const SIGNAL_EXIT: Record<ShutdownSignal, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

let installed = false;

export function onShutdownSignal(handler: (sig: ShutdownSignal) => void, onForce?: (sig: ShutdownSignal) => void): void {
  if (installed) throw new Error('onShutdownSignal: a process has exactly one signal owner');
  installed = true;
  let fired = false;
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (fired) {
        onForce?.(sig);
        process.exit(SIGNAL_EXIT[sig]);
      }
      fired = true;
      handler(sig);
    });
  }
}
