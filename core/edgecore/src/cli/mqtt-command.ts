/**
 * `edgetwin mqtt mosquitto-config`: the edge's MQTT identities and ACLs as Mosquitto's
 * `password_file` and `acl_file`, for running edgecore against an external Mosquitto
 * (`edgetwin edge --mqtt-url ...`). Creates the identities of edgecore and of the mappers the
 * devices need if they do not exist yet (their passwords go to 0600 files, as in embedded mode).
 */
import { chmod, chown, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDeviceDirectory } from '../devices/device-directory.js';
import { loadIdentities } from '../security/identities.js';
import { ensureEdgecoreIdentity, ensureMapperIdentity } from '../security/machine-identities.js';
import { mosquittoFiles } from '../security/mosquitto-files.js';
import { writeSecretFile } from '../security/secret-files.js';
import { CliError } from './cli-errors.js';
import type { CommandIo } from './users-command.js';

export const MQTT_HELP = `Usage:
  edgetwin mqtt mosquitto-config [--devices DIR] [--node-name NAME] [--data-dir DIR]
                                 [--data-topic-base T] [--out DIR] [--group G]
      Writes DIR/password_file and DIR/acl_file (mode 0640, group --group, default mosquitto, the
      group Debian's Mosquitto runs as; mode 0600 when there is no such group or --group '') for
      the edge's identities: edgecore, one per mapper the devices need (created if missing), and
      the users of "edgetwin users". Without --out, prints both. Load them with
        password_file DIR/password_file
        acl_file DIR/acl_file
        allow_anonymous false
      in mosquitto.conf; rerun when devices or users change and send mosquitto SIGHUP.`;

export async function mqttCommand(
  argv: string[],
  io: CommandIo = { out: (s) => process.stdout.write(s) },
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      devices: { type: 'string', default: 'devices' },
      'node-name': { type: 'string', default: hostname() },
      'data-dir': { type: 'string', default: '.data/edgecore' },
      'data-topic-base': { type: 'string', default: 'devices' },
      out: { type: 'string' },
      group: { type: 'string', default: 'mosquitto' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals.length === 0) {
    io.out(`${MQTT_HELP}\n`);
    return 0;
  }
  if (positionals[0] !== 'mosquitto-config')
    throw new CliError(`mqtt ${positionals[0]}: unknown; see "edgetwin mqtt --help"`);
  const dataDir = resolve(values['data-dir']);
  const nodeName = values['node-name'];
  const contents = await loadDeviceDirectory(resolve(values.devices), nodeName);
  for (const p of contents.problems) process.stderr.write(`warning: ${p.error.message}\n`);
  const devices = contents.devices.map((d) => ({ id: d.id, protocol: d.protocolName }));
  await ensureEdgecoreIdentity(dataDir);
  for (const protocol of new Set(devices.map((d) => d.protocol))) {
    if (protocol) await ensureMapperIdentity(dataDir, protocol);
  }
  const files = mosquittoFiles({
    identities: await loadIdentities(dataDir),
    nodeName,
    dataTopicBase: values['data-topic-base'],
    devices,
  });
  if (!values.out) {
    io.out(`# password_file\n${files.passwordFile}\n# acl_file\n${files.aclFile}`);
    return 0;
  }
  const out = resolve(values.out);
  const group = values.group === '' ? undefined : await groupId(values.group);
  for (const [name, text] of [
    ['password_file', files.passwordFile],
    ['acl_file', files.aclFile],
  ] as const) {
    const file = join(out, name);
    await writeSecretFile(file, text);
    if (group !== undefined) {
      // Mosquitto drops root for its own user: let its group read the files, nobody else.
      await chown(out, process.getuid?.() ?? 0, group);
      await chmod(out, 0o750);
      await chown(file, process.getuid?.() ?? 0, group);
      await chmod(file, 0o640);
    }
  }
  io.out(
    `wrote ${join(out, 'password_file')} and ${join(out, 'acl_file')}${group === undefined ? ' (mode 0600)' : ` (mode 0640, group ${values.group})`}\n`,
  );
  return 0;
}

/** The id of a group from /etc/group, or undefined when there is no such group. */
async function groupId(name: string): Promise<number | undefined> {
  const text = await readFile('/etc/group', 'utf8').catch(() => '');
  const line = text.split('\n').find((l) => l.startsWith(`${name}:`));
  const gid = line?.split(':')[2];
  return gid === undefined ? undefined : Number(gid);
}
