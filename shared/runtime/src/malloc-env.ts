/**
 * glibc malloc settings for the long-lived processes we start (queen, hive, bees), added to the env
 * they are spawned with. glibc reads them once, at process start, so a process can only set them
 * for its children: the keeper for the queen it starts, the queen for its local hive, the hive for
 * its bees.
 *
 * MALLOC_ARENA_MAX=2: glibc gives each thread that contends for malloc an arena of its own, up to
 * 8 per core, and never returns an arena; a Node process has ~6-10 threads (V8 platform workers, the
 * libuv pool), and after a burst of work each arena sat on 1-2 MiB (issue 14, footprint bench after
 * 30,000 tasks: ~5 MiB per bee and ~7 MiB in the queen in thread arenas). Two arenas keep the main
 * thread's own plus one shared by the helpers; bees run DuckDB with one thread (duck.ts), so there
 * is little contention to lose.
 *
 * A value the user set wins: these are defaults, not policy.
 */
export const MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/** `env` with MALLOC_ENV's defaults for what it does not set itself. */
export function withMallocEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...MALLOC_ENV, ...env };
}
