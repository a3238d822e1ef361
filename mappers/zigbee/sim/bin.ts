#!/usr/bin/env node
/** edgetwin-znp-emulator: a Z-Stack ZNP coordinator with simulated devices on tcp://127.0.0.1:PORT. */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startZnpEmulator } from './emulator.js';

const USAGE = `Usage: edgetwin-znp-emulator [--port N] [--host H] [--state FILE] [--report-interval MS] [--log-level L]

Emulates a Z-Stack 3.x ZNP coordinator reachable at tcp://HOST:PORT (point zigbee-herdsman or the
EdgeTwin ZigBee mapper at it) with a temperature/humidity sensor (0x00124b0000000101) and an
on/off plug (0x00124b0000000202) that join when joining is permitted.
  --port N               TCP port (default 6638; 0 picks a free one)
  --host H               listen address (default 127.0.0.1)
  --state FILE           keep NV memory and joined devices across restarts
  --report-interval MS   sensor report period (default 5000)
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '6638' },
      host: { type: 'string', default: '127.0.0.1' },
      state: { type: 'string' },
      'report-interval': { type: 'string', default: '5000' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const port = Number(values.port);
  const every = Number(values['report-interval']);
  if (!Number.isInteger(port) || port < 0 || port > 65535 || !Number.isFinite(every) || every < 0) {
    process.stderr.write(`--port must be 0..65535 and --report-interval a number of ms\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const logger = pino({ name: 'znp-emulator', level: values['log-level'] });
  const emu = await startZnpEmulator({
    port,
    host: values.host,
    reportIntervalMs: every,
    logger,
    ...(values.state ? { stateFile: values.state } : {}),
  });
  process.stdout.write(`ZNP emulator on ${emu.url}\n`);
  const stop = () => {
    emu.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
