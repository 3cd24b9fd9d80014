/**
 * The SQL text of one statement without its trailing semicolon (and whatever comments or blanks
 * follow it), so it can be wrapped as `COPY (…) TO`. Quotes and comments are respected: a `;` or
 * `--` inside a string literal or identifier is text, not syntax.
 */
export function withoutTrailingSemicolon(sql: string): string {
  let lastSignificant = -1; // index just past the last character that is not blank or comment
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const end = closing(sql, i, c);
      lastSignificant = end;
      i = end;
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else {
      if (!/\s/.test(c)) lastSignificant = i + 1;
      i++;
    }
  }
  const body = sql.slice(0, lastSignificant);
  return body.endsWith(';') ? withoutTrailingSemicolon(body.slice(0, -1)) : body;
}

/** Index just past the quote closing the literal opened at `start` ('' or "" escape themselves). */
function closing(sql: string, start: number, q: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === q) {
      if (sql[i + 1] === q) i += 2;
      else return i + 1;
    } else i++;
  }
  return sql.length;
}

/**
 * The SQL text with string literals and comments blanked out: what is left are keywords and
 * identifiers, so a frame name inside 'a string' or a file path does not count as naming the frame.
 */
export function codeOnly(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'") {
      const end = closing(sql, i, c);
      out += ' '.repeat(end - i);
      i = end;
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      const end = nl < 0 ? sql.length : nl;
      out += ' '.repeat(end - i);
      i = end;
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      const end = close < 0 ? sql.length : close + 2;
      out += ' '.repeat(end - i);
      i = end;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
