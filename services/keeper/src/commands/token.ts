import { TokenName, TokenScope, type SqlResult, type TokenInfo } from '@apiary/protocol';
import { parse } from '../args.js';
import { QueenClient } from '../client.js';
import { findQueen } from '../discovery.js';
import { EXIT, UsageError } from '../errors.js';
import { formatTable } from '../format.js';

export const TOKEN_USAGE = `keeper token create --scope read|submit|admin [--name NAME] [--json] [--queen URL]
  Make a scoped API token. The token alone goes to stdout (T=$(keeper token create --scope read));
  it is shown this once: the queen keeps only its hash. Needs an admin token (the client token file is one).
keeper token list [--json] [--queen URL]
  Tokens not revoked: id, name, scope, created, last used (to the minute). Never a secret.
keeper token revoke ID [--queen URL]
  Revoke a token: its next request fails with AUTH_FAILED.`;

/** Tokens live in a running queen: without one there is nothing to manage (as for frames). */
const NOT_RUNNING = 3;

export async function tokenCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    scope: { type: 'string' },
    name: { type: 'string' },
    json: { type: 'boolean' },
    queen: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(TOKEN_USAGE + '\n');
    return EXIT.OK;
  }
  const [sub, id, ...extra] = positionals;
  if (sub !== 'create' && sub !== 'list' && sub !== 'revoke') throw new UsageError(`keeper token: unknown subcommand "${sub ?? ''}" (create, list, revoke)`);
  if (extra.length > 0 || (sub !== 'revoke' && id !== undefined)) throw new UsageError(`keeper token ${sub}: too many arguments`);
  if (sub === 'revoke' && id === undefined) throw new UsageError('keeper token revoke takes a token id (see keeper token list)');
  if (sub !== 'create' && (values.scope !== undefined || values.name !== undefined))
    throw new UsageError(`keeper token ${sub}: --scope and --name are for create`);
  // Checked here so a typo is a usage error (exit 2), not a round trip.
  const scope = sub === 'create' ? TokenScope.safeParse(values.scope) : null;
  if (scope && !scope.success) throw new UsageError('keeper token create needs --scope read, submit or admin');
  if (values.name !== undefined && !TokenName.safeParse(values.name).success) throw new UsageError('--name: 1-64 printable ASCII characters');

  const t = findQueen(values.queen);
  if (!t) {
    process.stderr.write('no queen is running: tokens live in a running queen; start one with `keeper queen start --detach`, or pass --queen URL\n');
    return NOT_RUNNING;
  }
  const client = new QueenClient(t.url, t.token);
  if (sub === 'create') {
    const made = await client.createToken(scope!.data!, values.name);
    if (values.json) process.stdout.write(JSON.stringify(made) + '\n');
    else {
      process.stdout.write(made.token + '\n');
      process.stderr.write(`created token ${made.id} "${made.name}" with scope ${made.scope}: store it now, it is not shown again\n`);
    }
  } else if (sub === 'list') {
    const { tokens } = await client.listTokens();
    process.stdout.write(values.json ? JSON.stringify(tokens, null, 2) + '\n' : renderList(tokens));
  } else {
    const r = await client.revokeToken(id!);
    process.stdout.write(`revoked token ${r.id} "${r.name}" (scope ${r.scope})\n`);
  }
  return EXIT.OK;
}

const text = (name: string) => ({ name, type: 'VARCHAR' });
const when = (t: number | null) => (t === null ? 'never' : new Date(t).toISOString());

function renderList(tokens: TokenInfo[]): string {
  if (tokens.length === 0) return 'no tokens (the client token file is not listed: it is the daemon admin token)\n';
  const r: SqlResult = {
    kind: 'sql',
    columns: [text('id'), text('name'), text('scope'), text('created'), text('last used')],
    rows: tokens.map((k) => ({ id: k.id, name: k.name, scope: k.scope, created: when(k.createdAt), 'last used': when(k.lastUsedAt) })),
  };
  return formatTable(r);
}
