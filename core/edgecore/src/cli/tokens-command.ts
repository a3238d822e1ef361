/**
 * `edgetwin tokens create|list|revoke`: bearer tokens of edgecore's HTTP API, stored hashed in
 * `security/http-tokens.json` under edgecore's data directory. A running edgecore picks up a
 * revocation at once.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { HttpScope } from '@edgetwin/device-twin';
import { HTTP_SCOPES, createToken, loadTokens, revokeTokens, type HttpToken } from '../security/http-tokens.js';
import { writeSecretFile } from '../security/secret-files.js';
import { CliError } from './cli-errors.js';
import { parseExpiry, type CommandIo } from './users-command.js';

export const TOKENS_HELP = `Usage:
  edgetwin tokens create --scope read|write|admin [--scope ...] [--name NAME] [--expires 30d]
                         [--header-file FILE] [--data-dir DIR]
      Creates a bearer token for the HTTP API and prints it once (it is stored hashed). read: GET;
      write: also set desired values (PATCH); admin: everything. --header-file writes
      "Authorization: Bearer TOKEN" to FILE (mode 0600) instead, for "curl -H @FILE".
  edgetwin tokens list [--data-dir DIR] [--json]
  edgetwin tokens revoke ID|NAME [--data-dir DIR]
      A running edgecore refuses the token (401) from then on.
The data dir is edgecore's (default ./.data/edgecore). Once a token exists, edgecore's HTTP API
requires one (see SECURITY.md).`;

export async function tokensCommand(
  argv: string[],
  io: CommandIo = { out: (s) => process.stdout.write(s) },
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      scope: { type: 'string', multiple: true },
      name: { type: 'string' },
      expires: { type: 'string' },
      'header-file': { type: 'string' },
      'data-dir': { type: 'string', default: '.data/edgecore' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [sub, arg] = positionals;
  if (values.help || !sub) {
    io.out(`${TOKENS_HELP}\n`);
    return 0;
  }
  const dataDir = resolve(values['data-dir']);
  const now = Date.now();
  switch (sub) {
    case 'create': {
      const scopes = values.scope ?? [];
      const bad = scopes.find((s) => !(HTTP_SCOPES as readonly string[]).includes(s));
      if (scopes.length === 0 || bad !== undefined)
        throw new CliError(`tokens create: --scope read, write or admin is required${bad ? ` (not "${bad}")` : ''}`);
      const { token, record } = await createToken(dataDir, {
        name: values.name ?? `token-${now}`,
        scopes: scopes as HttpScope[],
        ...(values.expires ? { expiresAt: parseExpiry(values.expires, now) } : {}),
      });
      const file = values['header-file'];
      if (file) {
        await writeSecretFile(resolve(file), `Authorization: Bearer ${token}\n`);
        io.out(`created ${describe(record, now)}; the header is in ${resolve(file)} (mode 0600)\n`);
      } else {
        io.out(`created ${describe(record, now)}\ntoken: ${token}\n(shown once; it is stored hashed)\n`);
      }
      return 0;
    }
    case 'list': {
      const tokens = await loadTokens(dataDir);
      if (values.json)
        io.out(
          `${JSON.stringify(
            tokens.map(({ sha256: _h, ...t }) => t),
            null,
            2,
          )}\n`,
        );
      else for (const t of tokens) io.out(`${describe(t, now)}\n`);
      return 0;
    }
    case 'revoke': {
      if (!arg) throw new CliError('tokens revoke: give the token id or name');
      const n = await revokeTokens(dataDir, arg);
      if (n === 0) throw new CliError(`tokens revoke: no token with id or name "${arg}"`);
      io.out(`revoked ${n} token${n > 1 ? 's' : ''}\n`);
      return 0;
    }
    default:
      throw new CliError(`tokens ${sub}: unknown; use create, list or revoke`);
  }
}

function describe(t: HttpToken, now: number): string {
  const exp =
    t.expiresAt === undefined
      ? ''
      : ` ${t.expiresAt <= now ? 'EXPIRED' : 'expires'}=${new Date(t.expiresAt).toISOString()}`;
  return `${t.id} ${t.name} scopes=${t.scopes.join(',')}${exp}`;
}
