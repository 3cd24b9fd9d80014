import { hostname } from 'node:os';
import pino, { type Logger as PinoLogger } from 'pino';

/**
 * Logs through pino (fastify's own logger), in one of two formats:
 * - `json`: one JSON object per line, `{"level":"info","time":"<iso>","pid":…,"hostname":…,
 *   "component":"queen/frames","msg":…, …fields}` — what a daemon writes, for log shippers.
 * - `pretty`: `<iso time> <level> <component> <message> {fields}` — for people (ephemeral keeper
 *   runs, `--log-format pretty`).
 * Level from APIARY_LOG_LEVEL (debug|info|warn|error|silent), default info. Field names are the
 * same everywhere: `hive` (name or id), `bee` (number), `task` (id), `code` (error code).
 */
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFormat = 'json' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(component: string): Logger;
  /**
   * Output of a child process (a bee's stdout/stderr), relayed line by line: pretty writes it raw
   * behind `<source>| `, json as one info record per line with `source`.
   */
  relay(source: string, text: string): void;
  /** The pino logger underneath (fastify logs requests through it). */
  readonly pino: PinoLogger;
}

function threshold(): LogLevel {
  const v = process.env.APIARY_LOG_LEVEL ?? 'info';
  return (LEVELS as readonly string[]).includes(v) ? (v as LogLevel) : 'info';
}

export function createLogger(component: string, write: (line: string) => void = (l) => process.stderr.write(l), format: LogFormat = 'pretty'): Logger {
  const root = pino(
    {
      level: threshold(),
      base: format === 'json' ? { pid: process.pid, hostname: hostname() } : {},
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // JSON already escapes control characters; these three it leaves raw (see escapeControl).
      hooks: { streamWrite: (s) => s.replace(/[\x7f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) },
    },
    { write: format === 'json' ? write : (s: string) => write(prettyLine(s)) },
  );
  return wrap(root, component, format, write);
}

function wrap(root: PinoLogger, component: string, format: LogFormat, write: (line: string) => void): Logger {
  const p = root.child({ component });
  const at = (fn: 'debug' | 'info' | 'warn' | 'error') => (msg: string, fields?: Record<string, unknown>) =>
    fields ? p[fn](format === 'json' ? unclashed(fields) : fields, msg) : p[fn](msg);
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (c) => wrap(root, `${component}/${c}`, format, write),
    relay(source, text) {
      if (format === 'pretty') {
        const prefix = `${escapeControl(source)}| `;
        write(prefix + text.replace(/\n(?=.)/g, `\n${prefix}`));
        return;
      }
      for (const line of text.split('\n')) if (line.length > 0) p.info({ source }, line);
    },
    pino: p,
  };
}

/** Keys every JSON record has already: a field of the same name is renamed `<name>_` (a second "pid" would be ambiguous JSON). */
const RESERVED = new Set(['level', 'time', 'pid', 'hostname', 'component', 'msg']);

function unclashed(fields: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | null = null;
  for (const k of Object.keys(fields)) {
    if (!RESERVED.has(k)) continue;
    out ??= { ...fields };
    out[`${k}_`] = out[k];
    delete out[k];
  }
  return out ?? fields;
}

/** A pino JSON line as the readable text line; our own records only, so the keys are known. */
export function prettyLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { level, time, component, msg, pid: _pid, hostname: _host, ...fields } = o;
  const extra = Object.keys(fields).length > 0 ? ` ${safeJson(fields)}` : '';
  return `${String(time)} ${String(level).padEnd(5)} ${escapeControl(String(component ?? '-'))} ${escapeControl(String(msg ?? ''))}${extra}\n`;
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
  } catch {
    return '"<unserialisable>"';
  }
}

/**
 * One log call is one line: control characters (newline, CR, ESC, …) in a message or component
 * (and the line separators U+2028/U+2029) are written as \n, \r, \xNN or \uNNNN, so text from outside (a hive's name, an error message) cannot
 * forge a line or a terminal escape. Fields are JSON, which already escapes them.
 */
export function escapeControl(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return s.replace(/[\x00-\x1f\x7f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    return code > 0xff ? `\\u${code.toString(16)}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}
