#!/usr/bin/env node
/** `edgetwin-opcua-sim`: runs the OPC UA plant simulator until SIGINT/SIGTERM. */
import { parseArgs } from 'node:util';
import { plantNodes } from './plant.js';
import { startOpcuaSimulator, type OpcuaSimulatorOptions } from './server.js';

const usage = `Usage: edgetwin-opcua-sim [options]

Runs an OPC UA server (node-opcua) with a small plant: tank level, pump on/off, heater setpoint
and temperature, one writable variable per scalar type, optional benchmark variables.

Options:
  --port N                  TCP port (default 4840)
  --host HOST               host name in the endpoint URL (default 127.0.0.1)
  --pki-dir DIR             server PKI folder (default: a new temp dir)
  --secure-only             offer only Sign and SignAndEncrypt endpoints
  --reject-unknown-clients  accept only client certificates in <pki-dir>/trusted/certs
  --user NAME:PASSWORD      accept this user (repeatable; demo only, visible in ps)
  --no-anonymous            refuse anonymous sessions
  --bench-variables N       add N Double variables ns=2;s=Bench.V0000... changing every 100 ms
  --help                    show this help
`;

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'pki-dir': { type: 'string' },
    'secure-only': { type: 'boolean' },
    'reject-unknown-clients': { type: 'boolean' },
    user: { type: 'string', multiple: true },
    'no-anonymous': { type: 'boolean' },
    'bench-variables': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (values.help) {
  process.stdout.write(usage);
  process.exit(0);
}
const users: Record<string, string> = {};
for (const u of values.user ?? []) {
  const i = u.indexOf(':');
  if (i <= 0) {
    process.stderr.write(`--user ${JSON.stringify(u)} must be NAME:PASSWORD\n`);
    process.exit(2);
  }
  users[u.slice(0, i)] = u.slice(i + 1);
}
const opts: OpcuaSimulatorOptions = {
  port: Number(values.port ?? 4840),
  users,
  allowAnonymous: !values['no-anonymous'],
  secureOnly: values['secure-only'] ?? false,
  acceptUnknownClients: !values['reject-unknown-clients'],
  benchVariables: Number(values['bench-variables'] ?? 0),
};
if (values.host !== undefined) opts.host = values.host;
if (values['pki-dir'] !== undefined) opts.pkiDir = values['pki-dir'];

const sim = await startOpcuaSimulator(opts);
process.stdout.write(
  `OPC UA simulator listening on ${sim.url}\n` +
    `server certificate ${sim.certificateFile}\n  SHA-1 thumbprint ${sim.thumbprint}\n` +
    `  trust it: copy that file into <mapper data dir>/opcua-pki/trusted/certs/\n` +
    `nodes: ${plantNodes.tankLevel} (Double, read-only), ${plantNodes.pumpOn} (Boolean), ` +
    `${plantNodes.setpoint} (Float), ${plantNodes.temperature} (Double, read-only)\n`,
);
const stop = () => {
  sim.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`stopping the simulator failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
