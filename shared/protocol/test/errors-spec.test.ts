import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERRORS, type ErrorCode, type ErrorSpec, RETRYABLE_CODES, USER_ERROR_CODES } from '../src/index.js';

// specs/errors.md documents every code in a table; the code declares them once, in ERRORS. Like
// fastify's docs test, this parses the document and fails wherever the two disagree.
const DOC = readFileSync(fileURLToPath(new URL('../../../specs/errors.md', import.meta.url)), 'utf8');
const CODE_COLUMNS = ['code', 'meaning (`ErrorCodes`)', 'raised by', 'HTTP status', 'retryable', 'keeper exit'];

/** The rows of the first Markdown table under `## title`, split on unescaped pipes, `\|` unescaped. */
function table(title: string): string[][] {
  const section = DOC.split(/^## /m).find((s) => s.startsWith(`${title}\n`));
  if (!section) throw new Error(`specs/errors.md has no "## ${title}" section`);
  return section
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .map((l) =>
      l
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim().replaceAll('\\|', '|')),
    );
}

type Documented = Pick<ErrorSpec, 'http' | 'retry' | 'keeperExit' | 'description'>;

function parseRetry(cell: string, code: string): ErrorSpec['retry'] {
  if (cell === '**yes**') return 'colony';
  if (cell === 'no (yes with `retryUserErrors`)') return 'user';
  if (cell.startsWith('no')) return 'never';
  throw new Error(`${code}: cannot read the retryable cell ${JSON.stringify(cell)}`);
}

function documentedCodes(): Map<string, Documented> {
  const [header, rule, ...rows] = table('Codes');
  expect(header).toEqual(CODE_COLUMNS);
  expect(rule?.every((c) => /^-+$/.test(c))).toBe(true);
  const out = new Map<string, Documented>();
  for (const [code, description, , http, retry, exit] of rows) {
    const name = code?.match(/^`([A-Z_]+)`$/)?.[1];
    if (!name || description === undefined || http === undefined || retry === undefined || exit === undefined) {
      throw new Error(`unreadable row in specs/errors.md: ${JSON.stringify(code)}`);
    }
    expect(out.has(name), `${name} documented twice`).toBe(false);
    out.set(name, {
      description,
      // "400 (404 for unknown routes)": the first number is the code's own status.
      http: Number(http.match(/^\d{3}/)?.[0]),
      retry: parseRetry(retry, name),
      keeperExit: Number(exit.replaceAll('*', '')) as ErrorSpec['keeperExit'],
    });
  }
  return out;
}

const CODES = Object.keys(ERRORS) as ErrorCode[];

describe('specs/errors.md agrees with the error table (ERRORS)', () => {
  const doc = documentedCodes();

  it('documents exactly the codes the table declares', () => {
    expect([...doc.keys()].sort()).toEqual([...CODES].sort());
  });

  it.each(CODES)('%s: same meaning, HTTP status, retry and keeper exit', (code) => {
    const { http, retry, keeperExit, description } = ERRORS[code];
    expect(doc.get(code)).toEqual({ http, retry, keeperExit, description });
  });

  it('the HTTP status summary lists each non-500 status with exactly its codes', () => {
    const [header, , ...rows] = table('HTTP status');
    expect(header).toEqual(['status', 'codes']);
    const listed = new Set<number>();
    for (const [status, codes] of rows) {
      const s = Number(status);
      listed.add(s);
      if (s === 500) {
        expect(codes).toBe('every other code');
        continue;
      }
      // Text after ';' is commentary (e.g. unknown routes answer 404 with body code BAD_REQUEST).
      const named = [...(codes ?? '').split(';')[0]!.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]).sort();
      expect(named, `status ${s}`).toEqual(CODES.filter((c) => ERRORS[c].http === s).sort());
    }
    for (const c of CODES) expect(listed.has(ERRORS[c].http), `${c}: status ${ERRORS[c].http} has no row`).toBe(true);
  });
});

describe('the sets derived from the error table', () => {
  it('RETRYABLE_CODES and USER_ERROR_CODES are the codes the table retries', () => {
    expect([...RETRYABLE_CODES]).toEqual(CODES.filter((c) => ERRORS[c].retry === 'colony'));
    expect([...USER_ERROR_CODES]).toEqual(CODES.filter((c) => ERRORS[c].retry === 'user'));
  });
});
