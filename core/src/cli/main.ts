#!/usr/bin/env node
/**
 * The `edgetwin` command: `edgetwin edge` (edgecore), more subcommands as they land.
 */
import { EdgeTwinError } from '@edgetwin/sdk';
import { CliError } from './cli-errors.js';
import { EDGE_HELP, edgeCommand } from './edge-command.js';
import { imagesCommand, logsCommand } from '../agent/index.js';
import { cloudCommand } from '../cloud/cli.js';

const HELP = `Usage: edgetwin <command> [options]

Commands:
  edge      Run edgecore: device twins, MQTT, HTTP API, mappers, pods (embedded mode).
  cloud     Run cloudcore (Kubernetes sync); "cloud token create", "cloud nodes".
  logs      Print a pod's container log: edgetwin logs POD [-c CONTAINER] [-f] [-p].
  images    Load an OCI image archive into containerd: edgetwin images import FILE.
  help      Show this help; "edgetwin <command> --help" shows a command's options.

${EDGE_HELP.split('\n')[0]}`;

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  edge: edgeCommand,
  cloud: (argv) => cloudCommand(argv),
  logs: (argv) => logsCommand(argv),
  images: (argv) => imagesCommand(argv),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(HELP);
    return 0;
  }
  const command = commands[name];
  if (!command) throw new CliError(`unknown command "${name}"; run "edgetwin help"`);
  return command(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof CliError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`edgetwin: ${(err as Error).message}`);
      process.exit(2);
    }
    if (err instanceof EdgeTwinError) {
      console.error(`edgetwin: ${err.message} [${err.code}]`);
      process.exit(1);
    }
    console.error(err);
    process.exit(1);
  },
);
