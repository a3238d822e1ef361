/**
 * `edgetwin cloud token create|list|revoke`: join tokens in cloudcore's state file (works with or
 * without a running cloudcore, where that file is).
 */
import { CloudStateStore } from './state-store.js';
import type { JoinTokenRecord } from './join-tokens.js';

export interface TokenCommandArgs {
  dataDir: string;
  sub: string | undefined;
  rest: string[];
  ttlMs: number;
  node: string | undefined;
  replace: boolean;
  json: boolean;
  out: (s: string) => void;
  err: (s: string) => void;
}

const NODE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map(
      (r) =>
        `${r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('');
}

function listText(tokens: JoinTokenRecord[]): string {
  const rows = [['ID', 'NODE', 'REPLACE', 'STATUS', 'EXPIRES', 'USED-BY']];
  for (const t of tokens)
    rows.push([
      t.id,
      t.node ?? '(any new node)',
      t.replace ? 'yes' : 'no',
      t.status,
      new Date(t.expiresAt).toISOString(),
      t.usedBy ?? '-',
    ]);
  return table(rows);
}

/** Returns the exit code. */
export function tokenCommand(a: TokenCommandArgs): number {
  if (a.sub === 'create' && a.node !== undefined && !NODE_NAME.test(a.node)) {
    a.err(`--node "${a.node}" is not a node name (DNS-1123: lower case letters, digits, "-" and ".")\n`);
    return 2;
  }
  if (a.sub === 'create' && a.replace && a.node === undefined) {
    a.err('--replace needs --node: a token that may replace credentials is for one named node\n');
    return 2;
  }
  if (a.sub !== 'create' && a.sub !== 'list' && a.sub !== 'revoke') {
    a.err('usage: edgetwin cloud token create|list|revoke\n');
    return 2;
  }
  if (a.sub === 'revoke' && a.rest.length === 0) {
    a.err('usage: edgetwin cloud token revoke ID... (the IDs `edgetwin cloud token list` shows)\n');
    return 2;
  }
  const store = new CloudStateStore(a.dataDir);
  try {
    if (a.sub === 'create') {
      const { token, id, expiresAt } = store.createJoinToken(a.ttlMs, {
        ...(a.node !== undefined ? { node: a.node } : {}),
        replace: a.replace,
      });
      a.out(`${token}\n`);
      a.err(
        `join token ${id}: single use, ${a.node ? `for node ${a.node}` : 'for one new node'}${a.replace ? ', may replace its existing credentials' : ''}, valid until ${new Date(expiresAt).toISOString()}\n`,
      );
      return 0;
    }
    if (a.sub === 'list') {
      const tokens = store.tokens.list();
      a.out(a.json ? `${JSON.stringify(tokens, null, 2)}\n` : listText(tokens));
      return 0;
    }
    let code = 0;
    for (const id of a.rest) {
      if (store.tokens.revoke(id)) a.err(`join token ${id.slice(0, 12)} revoked\n`);
      else {
        a.err(`no join token ${id.slice(0, 12)}; see \`edgetwin cloud token list\`\n`);
        code = 1;
      }
    }
    return code;
  } finally {
    store.close();
  }
}
