import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { remoteCommand, sftpRemotePath, shellQuote, shellQuoteRemotePath } from '../src/cluster/shell.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'apiary-shell-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const sh = (command: string, env: NodeJS.ProcessEnv = process.env): string => execFileSync('/bin/sh', ['-c', command], { encoding: 'utf8', env, cwd: tmp });

const nasty = [
  'plain',
  '',
  ' ',
  'two words',
  '  leading and trailing  ',
  "it's",
  "'",
  "''",
  '"double"',
  `mixed 'single' and "double"`,
  '$(rm -rf /)',
  `$(touch ${path.join(tmp, 'pwned-1')})`,
  `\`touch ${path.join(tmp, 'pwned-2')}\``,
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${...} is the attack this input tries
  '${HOME}',
  '$HOME',
  '$1 $@ $*',
  'a; touch pwned-3',
  'a && touch pwned-4 || true',
  'a | cat > pwned-5',
  '(subshell)',
  '<in >out 2>&1',
  'line one\nline two',
  '\n',
  'tab\there',
  'back\\slash\\n',
  '*',
  '?',
  '[a-z]*',
  '~',
  '~/x',
  '-n',
  '--',
  '-e',
  'FOO=bar',
  '#not a comment',
  '!history',
  '%s %d',
  '日本語 🐝 émoji',
  'ünïcödé\u00a0nbsp',
  'carriage\rreturn',
  '\u001b[31mred\u001b[0m',
];

describe('shellQuote', () => {
  it('single-quotes everything and escapes single quotes POSIX style', () => {
    expect(shellQuote('abc')).toBe("'abc'");
    expect(shellQuote('')).toBe("''");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote("'")).toBe("''\\'''");
    expect(shellQuote('$(rm -rf /)')).toBe("'$(rm -rf /)'");
    expect(shellQuote('a\nb')).toBe("'a\nb'");
  });

  it('refuses NUL, which no argument can carry', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
  });

  it('round-trips every nasty argument exactly through /bin/sh -c and printf', () => {
    const out = sh(remoteCommand(['printf', '%s\n', ...nasty]));
    expect(out).toBe(nasty.map((a) => `${a}\n`).join(''));
  });

  it('round-trips each argument on its own as well', () => {
    for (const a of nasty) {
      expect(sh(`printf '%s\\n' ${shellQuote(a)}`)).toBe(`${a}\n`);
    }
  });

  it('never runs anything embedded in an argument', () => {
    sh(remoteCommand(['printf', '%s\n', ...nasty]));
    for (let i = 1; i <= 5; i++) expect(existsSync(path.join(tmp, `pwned-${i}`))).toBe(false);
  });

  it('keeps an assignment-looking first word a command name', () => {
    // unquoted, `FOO=bar true` would set a variable and succeed; quoted, FOO=bar is a command
    expect(() => sh(remoteCommand(['FOO=bar', 'true']) + ' 2>/dev/null')).toThrow();
  });
});

describe('remoteCommand', () => {
  it('quotes every element and joins with spaces', () => {
    expect(remoteCommand(['ls', '-la', 'my dir'])).toBe("'ls' '-la' 'my dir'");
    expect(remoteCommand(['echo', ''])).toBe("'echo' ''");
    expect(() => remoteCommand([])).toThrow(/empty/);
  });
});

describe('remote paths', () => {
  it('lets the remote shell expand ~/ and nothing else', () => {
    const home = path.join(tmp, 'home');
    expect(shellQuoteRemotePath('~/.apiary')).toBe(`"$HOME"/'.apiary'`);
    expect(shellQuoteRemotePath('/opt/apiary')).toBe(`'/opt/apiary'`);
    const out = sh(`printf '%s\\n' ${shellQuoteRemotePath('~/.apiary/x')} ${shellQuoteRemotePath('/opt/apiary')}`, { ...process.env, HOME: home });
    expect(out).toBe(`${home}/.apiary/x\n/opt/apiary\n`);
  });

  it('makes ~/ paths relative for SFTP', () => {
    expect(sftpRemotePath('~/.apiary/cache')).toBe('.apiary/cache');
    expect(sftpRemotePath('/opt/apiary')).toBe('/opt/apiary');
  });
});
