import { describe, expect, it } from 'vitest';
import { codeOnly, withoutTrailingSemicolon } from '../src/index.js';

describe('withoutTrailingSemicolon', () => {
  it.each([
    ['SELECT 1', 'SELECT 1'],
    ['SELECT 1;', 'SELECT 1'],
    ['SELECT 1 ;  \n', 'SELECT 1'],
    ['SELECT 1; -- done', 'SELECT 1'],
    ['SELECT 1; /* done */ ;', 'SELECT 1'],
    ["SELECT ';' AS s", "SELECT ';' AS s"],
    ["SELECT '--' AS s; -- x", "SELECT '--' AS s"],
    ['SELECT 1 AS "a;--b";', 'SELECT 1 AS "a;--b"'],
    ["SELECT 'it''s;'", "SELECT 'it''s;'"],
    ['SELECT 1 -- trailing comment', 'SELECT 1'],
  ])('%j → %j', (sql, want) => {
    expect(withoutTrailingSemicolon(sql)).toBe(want);
  });
});

describe('codeOnly', () => {
  it('blanks string literals and comments, keeps identifiers', () => {
    expect(codeOnly('SELECT \'sales\' FROM x -- sales\nWHERE /* sales */ y = "sales"')).toBe('SELECT         FROM x         \nWHERE             y = "sales"');
    expect(codeOnly("COPY (SELECT 1) TO '/tmp/sales.csv'")).not.toMatch(/sales/);
    expect(codeOnly("SELECT 'it''s' , sales")).toMatch(/, sales$/);
  });
});
