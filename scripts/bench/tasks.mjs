// Tiny task functions for the daemon benches (run inside bees as `{"kind":"js","module":<this file>}`).
// Keep them trivial: the benches measure the colony's overhead, not the work.

/** Returns args.i (or null): the smallest task there is. */
export function noop(args) {
  return args?.i ?? null;
}

/** Echoes its args back. */
export function echo(args) {
  return args ?? null;
}
