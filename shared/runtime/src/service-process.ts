import { collectWhenIdle } from './idle-gc.js';
import { createLogger, type LogFormat, type Logger } from './logger.js';
import { openProcessLog } from './process-log.js';
import { runMain } from './run-main.js';
import { onShutdownSignal } from './signals.js';
import { dropOutputWhenReaderGone } from './stdio.js';

/** Why a service is asked to stop: a shutdown signal, or its parent's pipe closed (--exit-with-stdin). */
export type StopReason = 'signal' | 'stdin';

const MiB = 1024 * 1024;

/**
 * The start-up apiary-queen and apiary-hive share around their own work (each main.ts): readable
 * text on stderr until the flags are read, then the log they ask for; output dropped once the
 * reader of stderr is gone (a keeper or queen that died first must not block a stop); a stop on a
 * shutdown signal and, with --exit-with-stdin, when the parent's end of stdin closes; the idle
 * collection once started; and runMain's exit codes.
 */
export class ServiceProcess {
  #log: Logger;

  constructor(readonly name: 'queen' | 'hive') {
    this.#log = createLogger(`${name}[${process.pid}]`);
    dropOutputWhenReaderGone();
  }

  get log(): Logger {
    return this.#log;
  }

  /** Log as --log-format/--log-file say; unset format: JSON lines for a long-lived process, readable text for an ephemeral one. */
  openLog(format: LogFormat | undefined, file: string | undefined, ephemeral: boolean): LogFormat {
    const f = format ?? (ephemeral ? 'pretty' : 'json');
    this.#log = openProcessLog({ name: this.name, format: f, file }).log;
    return f;
  }

  /** Call `stop` on a shutdown signal, and (exitWithStdin: started by a keeper, a queen or over SSH) when stdin ends. */
  stopOn(exitWithStdin: boolean, stop: (why: StopReason) => void): void {
    onShutdownSignal((sig) => {
      this.#log.info(`${sig}: stopping`);
      stop('signal');
    });
    if (!exitWithStdin) return;
    process.stdin.on('end', () => stop('stdin'));
    process.stdin.on('error', () => stop('stdin'));
    process.stdin.resume();
  }

  /** Once started: give back what a burst of work left in the heap when idle again (idle-gc.ts); `onQuiet` drops caches first. */
  collectWhenIdle(onQuiet?: () => void): void {
    collectWhenIdle({
      ...(onQuiet ? { onQuiet } : {}),
      onCollect: (e) => this.#log.debug(`idle gc: heap ${(e.heapBefore / MiB).toFixed(1)} → ${(e.heapAfter / MiB).toFixed(1)} MiB in ${e.ms.toFixed(0)} ms`),
    });
  }

  /** Run `main` and exit with its code, or with runMain's code for what it throws (usage line after a USAGE error). */
  run(main: () => Promise<number>, usage: string): void {
    runMain(main, { name: `apiary-${this.name}`, usage, log: () => this.#log });
  }
}
