#!/usr/bin/env node
/**
 * edgetwin-mapper-zigbee: runs the ZigBee mapper (flags of mapperCli; coordinator defaults from
 * EDGETWIN_ZIGBEE_* variables), or `permit-join --seconds N` to open the network for pairing.
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { errorMessage } from '@edgetwin/sdk';
import { mapperCli } from '@edgetwin/sdk/mapper';
import { zigbeeMapper, zigbeeOptionsFromEnv } from './mapper.js';
import { permitJoinOverMqtt } from './pairing/permit-join-client.js';

const PERMIT_USAGE = `Usage: edgetwin-mapper-zigbee permit-join [--seconds N] [--coordinator PATH] [--mqtt-url URL] [--node-name NAME]

Asks the running ZigBee mapper of a node to permit joining for N seconds (default 60, 0 closes).
`;

const ENV_HELP = `
ZigBee coordinator defaults (protocol configData may override them per device):
  EDGETWIN_ZIGBEE_COORDINATOR          serial path or tcp://host:port, e.g. tcp://127.0.0.1:6638
  EDGETWIN_ZIGBEE_CHANNEL              radio channel 11..26 (default 11)
  EDGETWIN_ZIGBEE_PAN_ID               PAN id (default 6754 = 0x1a62)
  EDGETWIN_ZIGBEE_PERMIT_JOIN_MISSING  seconds to permit joining while a declared device is missing (default off)
Pairing: edgetwin-mapper-zigbee permit-join --seconds 60
`;

async function permitJoin(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string', default: '60' },
      coordinator: { type: 'string' },
      'mqtt-url': { type: 'string' },
      'node-name': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(PERMIT_USAGE);
    return;
  }
  const seconds = Number(values.seconds);
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 254) {
    process.stderr.write(`--seconds must be a whole number 0..254\n\n${PERMIT_USAGE}`);
    process.exitCode = 2;
    return;
  }
  const result = await permitJoinOverMqtt({
    mqttUrl: values['mqtt-url'] ?? process.env.EDGETWIN_MQTT_URL ?? 'mqtt://127.0.0.1:1883',
    nodeName: values['node-name'] ?? process.env.EDGETWIN_NODE_NAME ?? hostname(),
    seconds,
    ...(values.coordinator ? { coordinator: values.coordinator } : {}),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  if (!result.ok) process.exitCode = 1;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === 'permit-join') return permitJoin(argv.slice(1));
  if (argv.includes('--help') || argv.includes('-h')) {
    await mapperCli(zigbeeMapper(), argv);
    process.stdout.write(ENV_HELP);
    return;
  }
  let options;
  try {
    options = zigbeeOptionsFromEnv();
  } catch (err) {
    process.stderr.write(`${errorMessage(err)}\n`);
    process.exitCode = 2;
    return;
  }
  await mapperCli(zigbeeMapper(options), argv);
}

main().catch((err: unknown) => {
  process.stderr.write(`${errorMessage(err)}\n`);
  process.exit(1);
});
