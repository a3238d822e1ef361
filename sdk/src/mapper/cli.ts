/**
 * `mapperCli(definition)`: the whole `main` of a mapper package. Parses the command line (flags win
 * over EDGETWIN_* environment variables), runs the mapper and stops it cleanly on SIGINT/SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { TSchema } from '@sinclair/typebox';
import type { Level } from 'pino';
import { EdgeTwinError, errorMessage } from '../errors.js';
import { runMapper, type MapperHandle, type RunMapperOptions } from './runtime.js';
import type { MapperDefinition } from './types.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

export function mapperUsage(protocol: string): string {
  return `Usage: edgetwin-mapper-${protocol} [options]

Runs the EdgeTwin ${protocol} mapper: registers with edgecore over KubeEdge's DMI (gRPC v1beta1 on
unix sockets), serves the ${protocol} devices edgecore assigns to this node and reports their twins
and states over DMI.

Options:
  --dmi-socket PATH  edgecore's DMI socket (env EDGETWIN_DMI_SOCKET, default
                     ./.data/edgecore/dmi/dmi.sock, edgecore's default; KubeEdge's is
                     /etc/kubeedge/dmi.sock)
  --mapper-socket PATH
                     this mapper's own DMI socket (env EDGETWIN_MAPPER_SOCKET, default:
                     dmi-mapper.sock in the data dir)
  --dmi-token-file FILE
                     file holding the DMI token edgecore made for this process (env
                     EDGETWIN_DMI_TOKEN_FILE; edgecore sets it). With it the mapper sends the
                     token on its calls to edgecore and refuses calls to its own socket without
                     it; without it, as when started by hand, it sends none and takes any call.
  --mqtt-url URL     edge MQTT broker, only for drivers with topics of their own (ZigBee
                     permit-join) (env EDGETWIN_MQTT_URL, default mqtt://127.0.0.1:1883)
  --mqtt-username U  broker user name (env EDGETWIN_MQTT_USERNAME; edgecore sets it)
  --mqtt-password-file FILE
                     file holding the broker password (env EDGETWIN_MQTT_PASSWORD_FILE;
                     edgecore sets it). The password itself is never a flag: ps shows flags.
  --mqtt-ca FILE     PEM CA of an mqtts:// broker (env EDGETWIN_MQTT_CA)
  --node-name NAME   node whose devices to serve (env EDGETWIN_NODE_NAME, default: the hostname)
  --data-dir DIR     directory for mapper state (env EDGETWIN_DATA_DIR, default: a temp dir)
  --log-level LEVEL  ${LEVELS.join(', ')} (env EDGETWIN_LOG_LEVEL, default info)
  --help             show this help
`;
}

/** Parses mapper flags; returns `'help'` for --help. Throws ET_CONFIG_INVALID naming the bad flag. */
export function parseMapperArgs(
  protocol: string,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): RunMapperOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        'dmi-socket': { type: 'string' },
        'mapper-socket': { type: 'string' },
        'dmi-token-file': { type: 'string' },
        'mqtt-url': { type: 'string' },
        'mqtt-username': { type: 'string' },
        'mqtt-password-file': { type: 'string' },
        'mqtt-ca': { type: 'string' },
        'node-name': { type: 'string' },
        'data-dir': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new EdgeTwinError('ET_CONFIG_INVALID', `${errorMessage(err)}; see --help`, { cause: err });
  }
  if (values.help) return 'help';
  const mqttUrl = values['mqtt-url'] ?? env.EDGETWIN_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
  if (!/^(mqtts?|wss?|tcp|tls):\/\/./.test(mqttUrl)) {
    throw new EdgeTwinError(
      'ET_CONFIG_INVALID',
      `--mqtt-url ${JSON.stringify(mqttUrl)} is not a broker URL; use e.g. mqtt://127.0.0.1:1883`,
      {
        details: { path: '--mqtt-url' },
      },
    );
  }
  const level = values['log-level'] ?? env.EDGETWIN_LOG_LEVEL ?? 'info';
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new EdgeTwinError(
      'ET_CONFIG_INVALID',
      `--log-level ${JSON.stringify(level)} must be one of ${LEVELS.join(', ')}`,
      {
        details: { path: '--log-level' },
      },
    );
  }
  const dataDir = values['data-dir'] ?? env.EDGETWIN_DATA_DIR;
  const username = values['mqtt-username'] ?? env.EDGETWIN_MQTT_USERNAME;
  const passwordFile = values['mqtt-password-file'] ?? env.EDGETWIN_MQTT_PASSWORD_FILE;
  const caFile = values['mqtt-ca'] ?? env.EDGETWIN_MQTT_CA;
  const mapperSocket = values['mapper-socket'] ?? env.EDGETWIN_MAPPER_SOCKET;
  const tokenFile = values['dmi-token-file'] ?? env.EDGETWIN_DMI_TOKEN_FILE;
  const dmiToken = tokenFile === undefined ? undefined : readSecret(tokenFile, '--dmi-token-file');
  if (tokenFile !== undefined && dmiToken === '')
    throw new EdgeTwinError('ET_CONFIG_INVALID', `--dmi-token-file ${tokenFile}: the file is empty`, {
      details: { path: '--dmi-token-file', file: tokenFile },
    });
  return {
    dmiSocket: resolve(values['dmi-socket'] ?? env.EDGETWIN_DMI_SOCKET ?? '.data/edgecore/dmi/dmi.sock'),
    ...(mapperSocket === undefined ? {} : { mapperSocket: resolve(mapperSocket) }),
    mqttUrl,
    ...(username === undefined ? {} : { mqttUsername: username }),
    ...(passwordFile === undefined ? {} : { mqttPassword: readSecret(passwordFile, '--mqtt-password-file') }),
    ...(caFile === undefined ? {} : { mqttCa: readSecret(caFile, '--mqtt-ca') }),
    ...(dmiToken === undefined ? {} : { dmiToken }),
    nodeName: values['node-name'] ?? env.EDGETWIN_NODE_NAME ?? hostname(),
    logLevel: level as Level,
    ...(dataDir === undefined ? {} : { dataDir }),
  };
}

function readSecret(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new EdgeTwinError('ET_CONFIG_INVALID', `${flag} ${file}: cannot read it: ${errorMessage(err)}`, {
      cause: err,
      details: { path: flag, file },
    });
  }
}

/**
 * Runs `definition` as a process: `await mapperCli(myMapper)` is a mapper package's whole bin.
 * Prints help or a flag error (exit code 2); on SIGINT/SIGTERM stops the mapper and exits.
 */
export async function mapperCli<PS extends TSchema, VS extends TSchema>(
  definition: MapperDefinition<PS, VS>,
  argv: readonly string[] = process.argv.slice(2),
): Promise<MapperHandle | undefined> {
  let options: RunMapperOptions | 'help';
  try {
    options = parseMapperArgs(definition.protocol, argv);
  } catch (err) {
    process.stderr.write(`${errorMessage(err)}\n\n${mapperUsage(definition.protocol)}`);
    process.exitCode = 2;
    return undefined;
  }
  if (options === 'help') {
    process.stdout.write(mapperUsage(definition.protocol));
    return undefined;
  }
  const handle = await runMapper(definition, options);
  const onSignal = (signal: NodeJS.Signals) => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    handle.stop().then(
      () => process.exit(signal === 'SIGINT' ? 130 : 0),
      (err) => {
        process.stderr.write(`stopping the mapper failed: ${errorMessage(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return handle;
}
