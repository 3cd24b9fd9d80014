import {
  optionsOf,
  parseDuration,
  parseSize,
  pickFlags,
  QUEEN_FLAGS,
  queenOptionProblem,
  resolveQueenConfig,
  type FlagSpec,
  type FlagValues,
  type QueenOptions,
} from '@apiary/config';
import { z } from 'zod';

/*
 * Queen options in cluster.yaml's `queen:` section. The flag table QUEEN_FLAGS stays their one
 * owner: the keys are its flag names in snake_case (`hive-timeout` → `hive_timeout`), the values
 * take the flags' units, the bounds are the queen's own (queenOptionProblem), and the queen that
 * `keeper cluster up` starts gets them as flags (toArgv). Where the queen binds has its own keys
 * (address, port, listen); a cluster's queen has no local hive; tokens and logs are the keeper's.
 */

/** The queen flags a cluster file may set. */
export const CLUSTER_QUEEN_FLAGS = pickFlags(QUEEN_FLAGS, [
  'hive-timeout',
  'data-root',
  'cell-bytes',
  'min-cell-bytes',
  'keep-versions',
  'retain-for',
  'retain-tasks',
  'prune-every',
  'metrics-host',
  'metrics-port',
]);

export type ClusterQueenFlags = FlagValues<typeof CLUSTER_QUEEN_FLAGS>;
type Flag = keyof typeof CLUSTER_QUEEN_FLAGS;

/** The YAML key of a flag. */
export const yamlKey = (flag: string): string => flag.replaceAll('-', '_');

const KIND_EXPECTED: Record<FlagSpec['kind'], string> = {
  duration: 'expected a duration, e.g. 10s, 500ms or 7d',
  size: 'expected a size, e.g. 64MiB',
  int: 'expected an integer',
  string: 'expected a string',
  boolean: 'expected true or false',
  list: 'expected a list',
};

/** One field: the flag's kind parsed as on the command line, then checked against the queen's bound. */
function field(flag: Flag, local: z.ZodType<string>): z.ZodType<unknown> {
  const spec: FlagSpec = CLUSTER_QUEEN_FLAGS[flag];
  const expected = KIND_EXPECTED[spec.kind];
  const raw =
    spec.kind === 'duration' || spec.kind === 'size'
      ? z.union([z.string(), z.number()], { error: expected }).transform((v, ctx) => {
          try {
            return spec.kind === 'size' ? parseSize(v) : parseDuration(v);
          } catch {
            ctx.addIssue({ code: 'custom', message: expected });
            return z.NEVER;
          }
        })
      : spec.kind === 'int'
        ? z.int({ error: expected })
        : flag === 'data-root'
          ? local
          : z.string({ error: expected });
  return raw.superRefine((v, ctx) => {
    const problem = queenOptionProblem(spec.option as Parameters<typeof queenOptionProblem>[0], v);
    const unit = spec.kind === 'duration' ? ' (in ms)' : spec.kind === 'size' ? ' (in bytes)' : '';
    if (problem) ctx.addIssue({ code: 'custom', message: `out of the queen's range${unit}: ${problem}` });
  });
}

/** The zod fields of these keys, for the queen section's schema (`local`: the file's local-path rule). */
export function queenOptionFields(local: z.ZodType<string>): Record<string, z.ZodOptional<z.ZodType<unknown>>> {
  return Object.fromEntries((Object.keys(CLUSTER_QUEEN_FLAGS) as Flag[]).map((f) => [yamlKey(f), field(f, local).optional()]));
}

/** The flags set in a parsed queen section (data_root resolved by `localPath`). */
export function queenFlagsOf(section: Record<string, unknown>, localPath: (p: string) => string): ClusterQueenFlags {
  const out: Record<string, unknown> = {};
  for (const f of Object.keys(CLUSTER_QUEEN_FLAGS) as Flag[]) {
    const v = section[yamlKey(f)];
    if (v !== undefined) out[f] = f === 'data-root' ? localPath(v as string) : v;
  }
  return out as ClusterQueenFlags;
}

/** The queen's own check of the options together (e.g. cell_bytes below min_cell_bytes); null when they pass. */
export function queenOptionsProblem(flags: ClusterQueenFlags): string | null {
  const placeholder = 'cluster-file-check-0000'; // tokens are the keeper's; the check needs 16+ characters
  const o: QueenOptions = {
    ...(optionsOf(CLUSTER_QUEEN_FLAGS, flags) as Partial<QueenOptions>),
    clientToken: placeholder,
    joinToken: placeholder,
    localHive: false,
  };
  try {
    resolveQueenConfig(o);
    return null;
  } catch (e) {
    return (e as Error).message.replace(/^queen config: /, '');
  }
}
