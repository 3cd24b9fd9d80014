// Task functions for the soak bench (run inside bees). Most are tiny; a few print a line (task output
// capture) and a few return a result over the ledger's inline limit (a file under results/).

/** args.i back; prints a line when args.print, returns ~300 KiB when args.big. */
export function soak(args) {
  if (args.print) console.log(`soak task ${args.i}`);
  if (args.big) return 'b'.repeat(300 * 1024);
  return args.i;
}
