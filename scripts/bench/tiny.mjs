// The tiny module of the `ephemeral` bench: `keeper run tiny.mjs` runs its default export on a bee
// and prints the result (42); `node tiny.mjs` (the baseline) computes and prints the same by itself.
import { fileURLToPath } from 'node:url';

export default function answer() {
  return 6 * 7;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(`${answer()}\n`);
