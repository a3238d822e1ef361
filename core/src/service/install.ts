/**
 * `edgetwin service install edge|cloud [options]`: writes the systemd unit, the sysusers.d entry
 * for the `edgetwin` user and the configuration directory, then (on a real system, as root) creates
 * the user and reloads systemd. `--root DIR` writes under DIR instead (image builds, tests);
 * `--dry-run` prints what it would write.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CliError } from '../usage-error.js';
import { renderUnit, SERVICE_DIRS, sysusersConf, UNIT_NAMES } from './units.js';

export const SERVICE_HELP = `Usage: edgetwin service install edge|cloud [options]

Writes /etc/systemd/system/edgetwin-<edge|cloud>.service (hardened: user "edgetwin", read-only
system, state in /var/lib/edgetwin/<kind>, configuration in /etc/edgetwin/<kind>), creates the user
(systemd-sysusers) and reloads systemd. Then: systemctl enable --now edgetwin-<kind>.

Options (both):
  --root DIR           write under DIR instead of / (do not touch the running system)
  --dry-run            print the files instead of writing them
  --user NAME          the system user (default edgetwin)
  --log-level L        passed to the daemon
Options (edge):
  --node-name NAME     this node (default: the host name, %H)
  --http-port N        HTTP API port (default 8080); --http-host ADDR (default 127.0.0.1)
  --mqtt-port N        embedded MQTT broker port (default 1883); or --mqtt-url URL
  --cloud URL          join cloudcore; put EDGETWIN_JOIN_TOKEN=... in /etc/edgetwin/edge/edge.env (0600)
  --cloud-ca FILE      CA of cloudcore's certificate (loaded as a credential)
Options (cloud):
  --port N             cloud hub port (default 10000)
  --kubeconfig FILE    kubeconfig (loaded as a credential; default: in-cluster)
  --tls-cert FILE --tls-key FILE   TLS for the hub (loaded as credentials)`;

export interface ServiceIo {
  out(s: string): void;
  /** Runs a system command (systemd-sysusers, systemctl); injectable for tests. */
  run(cmd: string, args: string[]): void;
}

const defaultIo: ServiceIo = {
  out: (s) => process.stdout.write(s),
  run: (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' }),
};

export function serviceCommand(argv: string[], io: ServiceIo = defaultIo): Promise<number> {
  return Promise.resolve(install(argv, io));
}

function install(argv: string[], io: ServiceIo): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      root: { type: 'string' },
      'dry-run': { type: 'boolean' },
      user: { type: 'string', default: 'edgetwin' },
      'log-level': { type: 'string' },
      'node-name': { type: 'string' },
      'http-port': { type: 'string' },
      'http-host': { type: 'string' },
      'mqtt-port': { type: 'string' },
      'mqtt-url': { type: 'string' },
      cloud: { type: 'string' },
      'cloud-ca': { type: 'string' },
      port: { type: 'string' },
      kubeconfig: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [verb, kind] = positionals;
  if (values.help || verb === undefined) {
    io.out(`${SERVICE_HELP}\n`);
    return values.help ? 0 : 2;
  }
  if (verb !== 'install') throw new CliError(`unknown service command "${verb}"; run "edgetwin service --help"`);
  if (kind !== 'edge' && kind !== 'cloud') throw new CliError('say which service: edgetwin service install edge|cloud');
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(values.user)) throw new CliError(`--user ${values.user}: not a valid user name`);

  const dirs = SERVICE_DIRS[kind];
  const args: string[] = [];
  const credentials: Record<string, string> = {};
  const flag = (name: string, value: string | undefined) => {
    if (value !== undefined) args.push(`--${name}`, value);
  };
  const credential = (name: string, file: string | undefined, asFlag: string) => {
    if (file === undefined) return;
    credentials[name] = resolve(file);
    args.push(`--${asFlag}`, `%d/${name}`);
  };
  if (kind === 'edge') {
    args.push('--devices', `/etc/${dirs.config}/devices`, '--data-dir', `/var/lib/${dirs.state}`);
    args.push('--node-name', values['node-name'] ?? '%H');
    flag('http-port', values['http-port']);
    flag('http-host', values['http-host']);
    flag('mqtt-port', values['mqtt-port']);
    flag('mqtt-url', values['mqtt-url']);
    flag('cloud', values.cloud);
    credential('cloud-ca.pem', values['cloud-ca'], 'cloud-ca');
  } else {
    args.push('--data-dir', `/var/lib/${dirs.state}`);
    flag('port', values.port);
    credential('kubeconfig', values.kubeconfig, 'kubeconfig');
    if (Boolean(values['tls-cert']) !== Boolean(values['tls-key']))
      throw new CliError('--tls-cert and --tls-key go together');
    credential('tls.crt', values['tls-cert'], 'tls-cert');
    credential('tls.key', values['tls-key'], 'tls-key');
  }
  flag('log-level', values['log-level']);

  const edgetwin = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/edgetwin.js');
  const files: Array<{ path: string; text: string; mode: number }> = [
    {
      path: `/etc/systemd/system/${UNIT_NAMES[kind]}`,
      text: renderUnit(kind, { node: process.execPath, edgetwin, user: values.user, args, credentials }),
      mode: 0o644,
    },
    { path: '/etc/sysusers.d/edgetwin.conf', text: sysusersConf(values.user), mode: 0o644 },
  ];

  if (values['dry-run']) {
    for (const f of files) io.out(`# ${f.path}\n${f.text}\n`);
    return 0;
  }
  const root = resolve(values.root ?? '/');
  const live = root === '/';
  if (live && process.getuid?.() !== 0)
    throw new CliError('installing a service needs root: run it with sudo (or use --root DIR / --dry-run)');
  for (const f of files) {
    const target = join(root, f.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, f.text, { mode: f.mode });
    io.out(`wrote ${target}\n`);
  }
  if (kind === 'edge') {
    const devices = join(root, 'etc', dirs.config, 'devices');
    mkdirSync(devices, { recursive: true, mode: 0o755 });
    io.out(`put Device and DeviceModel YAML in ${devices}\n`);
  }
  if (live) {
    // systemd-sysusers works without systemd running (image builds, chroots); daemon-reload does not.
    io.run('systemd-sysusers', ['/etc/sysusers.d/edgetwin.conf']);
    io.out(`created the system user ${values.user}\n`);
    if (existsSync('/run/systemd/system')) {
      io.run('systemctl', ['daemon-reload']);
      io.out(`start it now and at boot: systemctl enable --now ${UNIT_NAMES[kind]}\n`);
    } else {
      io.out('systemd is not running here: the unit is installed, nothing was started\n');
    }
  }
  return 0;
}
