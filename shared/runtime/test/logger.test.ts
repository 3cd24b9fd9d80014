import { describe, expect, it } from 'vitest';
import { createLogger, escapeControl } from '../src/index.js';

describe('logger', () => {
  it('writes one line per call even when the message and component carry control characters', () => {
    const lines: string[] = [];
    const log = createLogger('queen\r\nforged', (l) => lines.push(l)).child('gw\n');
    const forged = '2026-01-01T00:00:00.000Z error queen admin token leaked';
    log.warn(`hive evil\n${forged}\x1b[2J\ttab`, { name: `x\n${forged}` });
    expect(lines).toHaveLength(1);
    const line = lines[0] ?? '';
    // Exactly one newline, the terminator: nothing starts a second line.
    expect(line.indexOf('\n')).toBe(line.length - 1);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters is the point
    expect(line).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
    expect(line).toContain(`hive evil\\n${forged}\\x1b[2J\\ttab`);
    expect(line).toContain('queen\\r\\nforged/gw\\n');
  });

  it('escapes every C0 control and DEL, and leaves printable text and non-ASCII alone', () => {
    expect(escapeControl('a\u0000b\u0007c\u007fd')).toBe('a\\x00b\\x07c\\x7fd');
    expect(escapeControl('a\u2028b')).toBe('a\\u2028b');
    expect(escapeControl('plain text — émigré 🐝')).toBe('plain text — émigré 🐝');
  });
});
