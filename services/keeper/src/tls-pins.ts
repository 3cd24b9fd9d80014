import type { Agent } from 'node:http';
import { daemonPaths, normalizeFingerprint, pinnedAgent, readDaemonState } from '@apiary/config';

/*
 * The queen certificates this keeper pins, by origin (https://host:port). Discovery records the
 * fingerprint that goes with the queen it found (queen.json for the local daemon, `fingerprint` in
 * config.json, APIARY_QUEEN_FINGERPRINT), an ephemeral cluster queen records its ready line's; every
 * request to that origin then accepts exactly that certificate (tls-pin.ts). An https origin without
 * a pin is checked against the system's CAs, as any https client would.
 */

const pins = new Map<string, { fingerprint: string; agent: Agent }>();

function origin(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' ? u.origin : null;
  } catch {
    return null;
  }
}

/** Pin `fingerprint` for the queen at `url` (ignored for http URLs: nothing to pin). */
export function pinQueen(url: string, fingerprint: string): void {
  const o = origin(url);
  if (!o) return;
  const fp = normalizeFingerprint(fingerprint, `fingerprint for ${o}`);
  if (pins.get(o)?.fingerprint !== fp) pins.set(o, { fingerprint: fp, agent: pinnedAgent(fp) });
}

/**
 * The pinned agent for requests to `url`, if its origin is pinned; else, when `url` is the local
 * daemon's (queen.json, 0600 under APIARY_HOME), the fingerprint that daemon recorded.
 */
export function agentFor(url: string): Agent | undefined {
  const o = origin(url);
  if (!o) return undefined;
  if (!pins.has(o)) {
    const local = readDaemonState(daemonPaths(process.env.APIARY_HOME));
    if (local?.fingerprint && origin(local.url) === o) pinQueen(o, local.fingerprint);
  }
  return pins.get(o)?.agent;
}

export function pinnedFingerprint(url: string): string | undefined {
  const o = origin(url);
  return o ? pins.get(o)?.fingerprint : undefined;
}
