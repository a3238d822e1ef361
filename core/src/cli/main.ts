#!/usr/bin/env node
/**
 * The `edgetwin` command: `edgetwin edge` (edgecore), `cloud`, `logs`, `images`.
 *
 * Each command's module is imported only when it runs: edgecore on a small node then never loads
 * cloudcore's Kubernetes client (about 30 MB of heap).
 */
// Static imports stay this small: Node loads and compiles the whole static import graph before it
// runs any of it, and heap-first must run before the heap grows. Everything else is imported
// dynamically, once heap-first has run.
import './heap-first.js';
import { CliError } from '../usage-error.js';

const HELP = `Usage: edgetwin <command> [options]

Commands:
  edge      Run edgecore: device twins, MQTT, HTTP API, mappers, pods (embedded mode).
  cloud     Run cloudcore (Kubernetes sync); "cloud token create|list|revoke", "cloud nodes".
  mqtt      "mqtt mosquitto-config": the edge's MQTT policy as Mosquitto password_file and acl_file.
  tokens    Bearer tokens of the HTTP API: tokens create|list|revoke.
  users     MQTT identities of people and apps: users add|list|remove.
  logs      Print a pod's container log: edgetwin logs POD [-c CONTAINER] [-f] [-p].
  images    Load an OCI image archive into containerd: edgetwin images import FILE.
  service   Install edgecore or cloudcore as a systemd service: edgetwin service install edge|cloud.
  help      Show this help; "edgetwin <command> --help" shows a command's options.

Usage: edgetwin edge [options]`;

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  edge: async (argv) => (await import('@edgetwin/edgecore/cli')).edgeCommand(argv),
  cloud: async (argv) => (await import('@edgetwin/cloudcore')).cloudCommand(argv),
  mqtt: async (argv) => (await import('@edgetwin/edgecore/cli')).mqttCommand(argv),
  tokens: async (argv) => (await import('@edgetwin/edgecore/cli')).tokensCommand(argv),
  users: async (argv) => (await import('@edgetwin/edgecore/cli')).usersCommand(argv),
  logs: async (argv) => (await import('@edgetwin/agent/cli')).logsCommand(argv),
  images: async (argv) => (await import('@edgetwin/agent/cli')).imagesCommand(argv),
  service: async (argv) => (await import('../service/install.js')).serviceCommand(argv),
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
  async (err: unknown) => {
    if (
      (err instanceof Error && err.name === 'CliError') ||
      (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      console.error(`edgetwin: ${(err as Error).message}`);
      process.exit(2);
    }
    const { EdgeTwinError } = await import('@edgetwin/sdk');
    if (err instanceof EdgeTwinError) {
      console.error(`edgetwin: ${err.message} [${err.code}]`);
      process.exit(1);
    }
    console.error(err);
    process.exit(1);
  },
);
