import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKeyAlgorithms, verifyHostKey } from '../src/cluster/known-hosts.js';

/** Real keys from ssh-keygen, real known_hosts files (hashed ones from `ssh-keygen -H`). */
let dir = '';
const keys: Record<'ed' | 'ed2' | 'ecdsa', { type: string; b64: string; blob: Buffer }> = {} as never;

function genKey(name: string, type: 'ed25519' | 'ecdsa') {
  const f = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', name, '-f', f]);
  const [t, b64] = readFileSync(`${f}.pub`, 'utf8').split(' ');
  return { type: t!, b64: b64!, blob: Buffer.from(b64!, 'base64') };
}

function knownHosts(name: string, lines: string[]): string {
  const f = path.join(dir, name);
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

const H = '10.9.9.2';
const P = 2222;
const HP = `[${H}]:${P}`;
const check = (file: string, k: (typeof keys)['ed']) => verifyHostKey(file, H, P, k.type, k.blob);

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'apiary-known-hosts-'));
  keys.ed = genKey('ed', 'ed25519');
  keys.ed2 = genKey('ed2', 'ed25519');
  keys.ecdsa = genKey('ecdsa', 'ecdsa');
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('known_hosts, read as OpenSSH does', () => {
  it('the listed key is accepted, plain or hashed; an unlisted host is unknown; port 22 is the bare name', () => {
    const plain = knownHosts('plain', ['# comment', `other.host ssh-ed25519 ${keys.ed2.b64}`, `${HP} ${keys.ed.type} ${keys.ed.b64}`]);
    expect(check(plain, keys.ed)).toEqual({ ok: true });
    expect(verifyHostKey(plain, '10.9.9.3', P, keys.ed.type, keys.ed.blob)).toEqual({ ok: false, reason: 'unknown' });
    expect(verifyHostKey(plain, H, 22, keys.ed.type, keys.ed.blob)).toEqual({ ok: false, reason: 'unknown' });
    const hashed = knownHosts('hashed', [`${HP} ${keys.ed.type} ${keys.ed.b64}`]);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', hashed], { stdio: 'ignore' }); // it prints where it kept the original
    expect(readFileSync(hashed, 'utf8')).not.toContain(H);
    expect(check(hashed, keys.ed)).toEqual({ ok: true });
    expect(check(hashed, keys.ed2)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('another key of the same type is a mismatch', () => {
    const f = knownHosts('same-type', [`${HP} ${keys.ed.type} ${keys.ed.b64}`]);
    expect(check(f, keys.ed2)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('a known host presenting a key of a type not listed for it is a mismatch, not unknown', () => {
    const f = knownHosts('other-type', [`${HP} ${keys.ed.type} ${keys.ed.b64}`]);
    expect(check(f, keys.ecdsa)).toEqual({ ok: false, reason: 'mismatch' });
    // unless that key is listed for the host too
    const both = knownHosts('both-types', [`${HP} ${keys.ed.type} ${keys.ed.b64}`, `${HP} ${keys.ecdsa.type} ${keys.ecdsa.b64}`]);
    expect(check(both, keys.ecdsa)).toEqual({ ok: true });
    expect(check(both, keys.ed)).toEqual({ ok: true });
  });

  it('a key on a @revoked line is refused even when also listed plainly, and for any host its pattern covers', () => {
    const f = knownHosts('revoked', [`${HP} ${keys.ed.type} ${keys.ed.b64}`, `@revoked * ${keys.ed.type} ${keys.ed.b64}`]);
    expect(check(f, keys.ed)).toEqual({ ok: false, reason: 'revoked' });
    expect(verifyHostKey(f, '10.1.1.1', 22, keys.ed.type, keys.ed.blob)).toEqual({ ok: false, reason: 'revoked' });
    expect(verifyHostKey(f, '10.1.1.1', 22, keys.ed2.type, keys.ed2.blob)).toEqual({ ok: false, reason: 'unknown' });
  });

  it('@cert-authority lines are not host keys: they neither accept the key nor make the host known', () => {
    const f = knownHosts('ca', [`@cert-authority ${HP} ${keys.ed.type} ${keys.ed.b64}`]);
    expect(check(f, keys.ed)).toEqual({ ok: false, reason: 'unknown' });
    expect(hostKeyAlgorithms(f, H, P)).toBeUndefined();
  });

  it('wildcard and negated host patterns', () => {
    const f = knownHosts('globs', [`[10.9.9.?]:${P},!${HP} ${keys.ed.type} ${keys.ed.b64}`, `*.example ${keys.ed2.type} ${keys.ed2.b64}`]);
    expect(check(f, keys.ed)).toEqual({ ok: false, reason: 'unknown' }); // negated for this very host
    expect(verifyHostKey(f, '10.9.9.7', P, keys.ed.type, keys.ed.blob)).toEqual({ ok: true });
    expect(verifyHostKey(f, 'pi.example', 22, keys.ed2.type, keys.ed2.blob)).toEqual({ ok: true });
  });

  it('a listed host is asked for its listed key types first', () => {
    const f = knownHosts('algs', [`${HP} ${keys.ecdsa.type} ${keys.ecdsa.b64}`, `${HP} ssh-rsa AAAA`]);
    expect(hostKeyAlgorithms(f, H, P)?.slice(0, 4)).toEqual(['ecdsa-sha2-nistp256', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(hostKeyAlgorithms(f, '10.9.9.3', P)).toBeUndefined();
  });
});
