import { createLogger, LOG_FORMATS, type LogFormat, type Logger } from './logger.js';
import { LOG_ROTATION, RotatingFile } from './rotating-file.js';

export interface ProcessLogOptions {
  /** `queen` or `hive`: the root component (pretty adds the pid: `queen[1234]`). */
  name: string;
  format: LogFormat;
  /** Write here (rotated) instead of stderr. */
  file?: string;
  maxBytes?: number;
  files?: number;
}

/** The process's logger: to stderr, or to a rotating file (a daemon's queen.log, a hive's hive.log). */
export function openProcessLog(o: ProcessLogOptions): { log: Logger; close(): void } {
  const file = o.file ? new RotatingFile(o.file, o.maxBytes ?? LOG_ROTATION.maxBytes, o.files ?? LOG_ROTATION.files) : null;
  const write = file ? (l: string) => file.write(l) : (l: string) => void process.stderr.write(l);
  // JSON carries the pid as a field; the readable line keeps it in the component as it always had.
  const log = createLogger(o.format === 'json' ? o.name : `${o.name}[${process.pid}]`, write, o.format);
  return { log, close: () => file?.close() };
}

/** A --log-format value, or undefined when not given; anything else is a usage error the caller reports. */
export function parseLogFormat(v: string | undefined): LogFormat | undefined {
  if (v === undefined) return undefined;
  if ((LOG_FORMATS as readonly string[]).includes(v)) return v as LogFormat;
  throw new RangeError(`--log-format: expected json or pretty, not "${v}"`);
}
