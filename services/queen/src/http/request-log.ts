import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '@apiary/runtime';
import type { Principal } from './auth.js';

/** Query parameters whose values are credentials (a token, a dashboard's one-time code): never logged. */
const SECRET_PARAMS = /^(token|access_token|code|key|secret|password)$/i;

/** The URL as logged: secret query values replaced by `[REDACTED]`. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((kv) => {
      const eq = kv.indexOf('=');
      const name = eq < 0 ? kv : kv.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // a malformed name is logged as sent
      }
      return eq >= 0 && SECRET_PARAMS.test(decoded) ? `${name}=[REDACTED]` : kv;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

/**
 * One line per request when its response is sent: method, URL (secret parameters redacted),
 * status, duration, and who asked (the token's id, never the token). Headers are not logged at
 * all, so the Authorization header and the dashboard cookie cannot reach the log.
 */
export function logRequests(app: FastifyInstance, log: Logger): void {
  // A callback hook (no promise per request); with info off (warn and up) nothing is built for a 2xx-4xx.
  app.addHook('onResponse', (req, reply, done) => {
    try {
      line(req, reply, log);
    } finally {
      done();
    }
  });
}

function line(req: FastifyRequest, reply: FastifyReply, log: Logger): void {
  if (reply.statusCode < 500 && !log.pino.isLevelEnabled('info')) return;
  logLine(log, req.method, req.url, reply.statusCode, reply.elapsedTime, req.ip, req.principal);
}

/** The request line itself (also written by the lean submit path, lean-submit.ts). */
export function logLine(
  log: Logger,
  method: string,
  url: string,
  status: number,
  elapsedMs: number,
  remote: string | undefined,
  principal: Principal | undefined,
): void {
  if (status < 500 && !log.pino.isLevelEnabled('info')) return;
  const fields = {
    method,
    url: redactUrl(url),
    status,
    ms: Math.round(elapsedMs * 10) / 10,
    remote,
    ...(principal ? { tokenId: principal.tokenId } : {}),
  };
  if (status >= 500) log.warn('request', fields);
  else log.info('request', fields);
}
