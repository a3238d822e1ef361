/**
 * `edgetwin users add|list|remove`: the MQTT identities of people and edge apps on the edge
 * broker (`security/mqtt-users.json` under edgecore's data directory). A running edgecore applies
 * changes at once: a removed user's connections are closed. Passwords are stored as hashes; the
 * generated password is printed once, or written to a 0600 file with --password-file.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { loadIdentities, removeIdentity, upsertIdentity, type Identity } from '../security/identities.js';
import { hashPassword, newSecret } from '../security/password-hash.js';
import { writeSecretFile } from '../security/secret-files.js';
import { CliError } from './cli-errors.js';

export const USERS_HELP = `Usage:
  edgetwin users add NAME --role app|admin [--read PATTERN]... [--set PATTERN]... [--expires 30d]
                 [--password-file FILE | --password-stdin | --cert-only] [--data-dir DIR]
      Adds (or replaces) an MQTT identity for a person or an edge app. PATTERN is namespace/name with
      * wildcards (default/*, */thermostat-*, */*): --read lets it receive the data and $hw topics of
      those devices, --set lets it set their desired values (devices/NS/NAME/PROP/set). An admin reads
      everything and sets every desired value. The generated password is printed once, or written to
      FILE (mode 0600); --password-stdin reads one instead; --cert-only makes an identity that logs in
      with a TLS client certificate whose subject CN is NAME.
  edgetwin users list [--data-dir DIR] [--json]
  edgetwin users remove NAME [--data-dir DIR]
      Removes the identity; a running edgecore closes its connections at once.
The data dir is edgecore's (default ./.data/edgecore). Mapper and edgecore identities are made by
edgecore itself.`;

export interface CommandIo {
  out: (s: string) => void;
  stdin?: () => Promise<string>;
}

const defaultIo: CommandIo = {
  out: (s) => process.stdout.write(s),
  stdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

/** "30d", "12h", "45m", "60s" from now, or an ISO date -> ms since the epoch. */
export function parseExpiry(value: string, now = Date.now()): number {
  const m = /^(\d+)([smhd])$/.exec(value.trim());
  if (m) return now + Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'] * 1000;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new CliError(`--expires ${value}: expected a duration (30d, 12h) or an ISO date`);
  return t;
}

export async function usersCommand(argv: string[], io: CommandIo = defaultIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      role: { type: 'string' },
      read: { type: 'string', multiple: true },
      set: { type: 'string', multiple: true },
      expires: { type: 'string' },
      'password-file': { type: 'string' },
      'password-stdin': { type: 'boolean', default: false },
      'cert-only': { type: 'boolean', default: false },
      'data-dir': { type: 'string', default: '.data/edgecore' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [sub, name] = positionals;
  if (values.help || !sub) {
    io.out(`${USERS_HELP}\n`);
    return 0;
  }
  const dataDir = resolve(values['data-dir']);
  if (sub === 'list') {
    const users = await loadIdentities(dataDir);
    if (values.json) {
      io.out(
        `${JSON.stringify(
          users.map(({ hash: _hash, ...u }) => u),
          null,
          2,
        )}\n`,
      );
      return 0;
    }
    const now = Date.now();
    for (const u of users) io.out(`${describe(u, now)}\n`);
    return 0;
  }
  if (!name) throw new CliError(`users ${sub}: a user name is required; see "edgetwin users --help"`);
  if (sub === 'remove') {
    if (!(await removeIdentity(dataDir, name))) throw new CliError(`users remove: there is no user "${name}"`);
    io.out(`removed ${name}\n`);
    return 0;
  }
  if (sub !== 'add') throw new CliError(`users ${sub}: unknown; use add, list or remove`);
  const role = values.role;
  if (role !== 'app' && role !== 'admin')
    throw new CliError('users add: --role app or --role admin is required (mapper identities are made by edgecore)');
  const normalize = (p: string) => (p.includes('/') ? p : `${p}/*`);
  let password: string | undefined;
  if (values['password-stdin']) password = (await (io.stdin ?? defaultIo.stdin!)()).trim();
  else if (!values['cert-only']) password = newSecret();
  if (password !== undefined && password.length < 8)
    throw new CliError('users add: a password needs 8 characters or more');
  const identity: Identity = {
    name,
    role,
    createdAt: Date.now(),
    ...(password === undefined ? {} : { hash: await hashPassword(password) }),
    ...(values.read ? { read: values.read.map(normalize) } : {}),
    ...(values.set ? { set: values.set.map(normalize) } : {}),
    ...(values.expires ? { expiresAt: parseExpiry(values.expires) } : {}),
  };
  await upsertIdentity(dataDir, identity);
  const file = values['password-file'];
  if (file && password !== undefined && !values['password-stdin']) {
    await writeSecretFile(resolve(file), `${password}\n`);
    io.out(`added ${describe(identity, Date.now())}; its password is in ${resolve(file)} (mode 0600)\n`);
  } else if (password !== undefined && !values['password-stdin']) {
    io.out(`added ${describe(identity, Date.now())}\npassword: ${password}\n(shown once; it is stored hashed)\n`);
  } else {
    io.out(`added ${describe(identity, Date.now())}\n`);
  }
  return 0;
}

function describe(u: Identity, now: number): string {
  const parts = [u.name, `role=${u.role}`];
  if (u.protocol) parts.push(`protocol=${u.protocol}`);
  if (u.read) parts.push(`read=${u.read.join(',')}`);
  if (u.set) parts.push(`set=${u.set.join(',')}`);
  if (!u.hash) parts.push('certificate-only');
  if (u.expiresAt !== undefined)
    parts.push(`${u.expiresAt <= now ? 'EXPIRED' : 'expires'}=${new Date(u.expiresAt).toISOString()}`);
  return parts.join(' ');
}
