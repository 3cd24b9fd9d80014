import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { COMMON_OPTIONS, colonyFlags, parse } from '../args.js';
import { UsageError } from '../errors.js';
import { Session } from '../session.js';

export const RUN_USAGE = `keeper run <module> [--export name] [--args '<json>'] [--bees N] [--memory-per-bee 256MB] [--timeout 30s]
  Run an exported function of a JavaScript module on a bee and print its result as JSON.
  The function gets (args, { signal, scratchDir, taskId }); its resolved value is the result.
  What the task prints (console.log, a child's output) appears on stderr as it runs; signal fires
  on cancel (Ctrl-C) and timeout, 1 s before the bee is killed.`;

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, export: { type: 'string', short: 'e' }, args: { type: 'string', short: 'a' } });
  if (values.help) {
    process.stdout.write(RUN_USAGE + '\n');
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('keeper run takes exactly one module path');
  let args: unknown;
  if (values.args !== undefined) {
    try {
      args = JSON.parse(values.args);
    } catch (e) {
      throw new UsageError(`--args: not valid JSON (${(e as Error).message})`);
    }
  }
  const flags = colonyFlags(values);
  // Relative paths mean "relative to where I ran keeper", not to wherever the bee happens to run.
  const module = pathToFileURL(path.resolve(positionals[0]!)).href;
  const session = await Session.open(flags);
  try {
    // Task output goes to stderr: stdout carries only the result, so it can be piped.
    const t = await session.run({ kind: 'js', module, export: values.export ?? 'default', args }, { timeoutMs: flags.timeoutMs }, (e) => {
      if (e.cut > 0) process.stderr.write(`[… ${e.cut} bytes of task output cut]\n`);
      process.stderr.write(e.data);
    });
    if (t.value?.kind === 'js') process.stdout.write(JSON.stringify(t.value.value, null, 2) + '\n');
    return 0;
  } finally {
    await session.close();
  }
}
