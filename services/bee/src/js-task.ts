import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { ApiaryError, type JsTaskSpec } from '@apiary/protocol';

/** What a js task function receives besides its args. */
export interface TaskContext {
  /** Aborted when the task is cancelled or times out. */
  signal: AbortSignal;
  /** The bee's private scratch dir, emptied after every task. */
  scratchDir: string;
  taskId: string;
}

const cache = new Map<string, Record<string, unknown>>();

async function load(specifier: string): Promise<Record<string, unknown>> {
  // Keyed on the specifier as given: resolving it to a URL first cost more than the lookup.
  const hit = cache.get(specifier);
  if (hit) return hit;
  const url = specifier.startsWith('file:') ? specifier : pathToFileURL(path.resolve(specifier)).href;
  try {
    const mod = (await import(url)) as Record<string, unknown>;
    cache.set(specifier, mod);
    return mod;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(url.replace('file://', ''))) {
      throw new ApiaryError(
        'TASK_MODULE_NOT_FOUND',
        `cannot find task module ${specifier}: check the path (relative paths resolve against the current directory)`,
      );
    }
    throw new ApiaryError('TASK_MODULE_NOT_FOUND', `cannot load task module ${specifier}: ${err.message}`);
  }
}

export async function runJs(spec: JsTaskSpec, ctx: TaskContext): Promise<unknown> {
  const mod = await load(spec.module);
  const name = spec.export ?? 'default';
  const fn = mod[name];
  if (typeof fn !== 'function') {
    const exported = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    throw new ApiaryError(
      'TASK_EXPORT_NOT_FOUND',
      `task module ${spec.module} has no exported function "${name}"` +
        (exported.length > 0 ? `; it exports: ${exported.join(', ')}` : '; it exports no functions'),
    );
  }
  // Cancelled or timed out while its module loaded: it never starts (it could not see the signal fire).
  if (ctx.signal.aborted) throw ctx.signal.reason;
  try {
    return await (fn as (args: unknown, ctx: TaskContext) => unknown)(spec.args, ctx);
  } catch (e) {
    if (e instanceof ApiaryError) throw e;
    const err = e instanceof Error ? e : new Error(String(e));
    throw new ApiaryError('TASK_FAILED', err.message, err.stack ? { stack: err.stack } : undefined);
  }
}
