#!/usr/bin/env node
/**
 * edgetwin-modbus-sim --config FILE [--port N] [--host H] [--serial PATH] [--baud-rate N]
 * Serves the slaves of a simulator YAML file over Modbus TCP and/or RTU until SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { errorMessage } from '@edgetwin/sdk';
import { startModbusSimulator, type SimulatorOptions } from './simulator.js';

const USAGE = 'usage: edgetwin-modbus-sim --config FILE [--port N] [--host H] [--serial PATH] [--baud-rate N]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      serial: { type: 'string' },
      'baud-rate': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || !values.config) {
    console.log(USAGE);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const opts: SimulatorOptions = {};
  if (values.port !== undefined) opts.port = Number(values.port);
  if (values.host !== undefined) opts.host = values.host;
  if (values.serial !== undefined) opts.serialPath = values.serial;
  if (values['baud-rate'] !== undefined) opts.baudRate = Number(values['baud-rate']);
  if (opts.port !== undefined && !(Number.isInteger(opts.port) && opts.port >= 0 && opts.port < 65536)) {
    throw new Error(`--port must be a TCP port number, got ${values.port}`);
  }
  const sim = await startModbusSimulator(values.config, opts);
  const where = [sim.port !== undefined ? `tcp port ${sim.port}` : '', sim.serialPath ? `rtu ${sim.serialPath}` : '']
    .filter(Boolean)
    .join(', ');
  console.log(`edgetwin-modbus-sim: serving ${values.config} on ${where}`);
  const shutdown = () => {
    void sim.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  console.error(`edgetwin-modbus-sim: ${errorMessage(err)}`);
  process.exit(1);
});
