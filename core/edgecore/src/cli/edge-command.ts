/**
 * `edgetwin edge`: runs edgecore in embedded mode (YAML devices, embedded or external broker).
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readFile, stat } from 'node:fs/promises';
import { DMI_ANONYMOUS_MODES, type DmiAnonymous } from '../dmi/dmi-anonymous.js';
import { EdgeCore } from '../edge/edgecore.js';
import { mapperUsers } from '../supervisor/mapper-users.js';
import { createLogger } from './logger.js';
import { CliError, parseHours, parsePort } from './cli-errors.js';

export const EDGE_HELP = `Usage: edgetwin edge [options]

Runs edgecore: the device twin service, its MQTT protocol handler, the HTTP device-twin API and
the mapper supervisor, with devices declared as KubeEdge Device/DeviceModel YAML.

Options:
  --devices DIR        Device and DeviceModel YAML files (multi-document files allowed); the
                       directory is watched for changes.           (default: ./devices)
  --max-devices-file-bytes N  Size limit of one devices file; a larger file is not loaded and
                       its error names the file and the limit.     (default: 8388608, 8 MiB)
  --data-dir DIR       SQLite database and other state.            (default: ./.data/edgecore)
  --node-name NAME     This node's name; devices whose spec.nodeName names another node are
                       skipped.                                    (default: the host name)
  --mqtt-port N        Port of the embedded MQTT broker on 127.0.0.1. (default: 1883)
  --mqtt-url URL       Use an external broker (e.g. mqtt://127.0.0.1:1883 for Mosquitto)
                       instead of the embedded one; "edgetwin mqtt mosquitto-config" writes
                       Mosquitto's password_file and acl_file for it.
  --mqtt-allow-anonymous  Let MQTT clients in without credentials, with full access. Off by
                       default: edgecore and each mapper get their own identity, people and apps
                       one from "edgetwin users add".
  --no-mqtt-auth       No identities and no ACLs on the embedded broker at all (the broker as
                       it was before; for measurements on a trusted machine only).
  --mqtt-tls-port N    Also listen for MQTT over TLS on this port (needs the two below).
  --mqtt-tls-cert FILE / --mqtt-tls-key FILE  PEM certificate and key of that listener.
  --mqtt-tls-ca FILE   PEM CA of client certificates: a client presenting one logs in as the
                       user named by its subject CN, without a password.
  --http-port N        Port of the HTTP API on 127.0.0.1.          (default: 8080)
  --http-host ADDR     Address the HTTP API binds to.              (default: 127.0.0.1)
                       Any other than loopback needs a token ("edgetwin tokens create") or
                       --insecure.
  --http-auth MODE     auto: bearer tokens once one exists or off loopback; tokens: always;
                       none: never.                                (default: auto)
  --insecure           Allow a non-loopback HTTP API without authentication (warns at start).
  --http-allowed-host NAME  Also answer requests whose Host header is NAME (repeatable; '*': any).
                       This machine's names and addresses are always accepted.
  --http-cors-origin ORIGIN  Let browser pages from ORIGIN call the API (repeatable; none by default).
  --http-metrics-open  Serve /metrics without a token (/healthz and /readyz always are).
  --http-tls-cert FILE / --http-tls-key FILE  Serve HTTPS with this PEM certificate and key.
  --http-tls-ca FILE   Require client certificates signed by this PEM CA.
  --data-topic-base T  Base of the data topics for edge apps.      (default: devices)
  --history-retention H  Hours of reported values kept for the console's charts; 0 keeps
                       no history.                                 (default: 24)
  --no-mappers         Do not start mapper processes (run them standalone instead).
  --mapper-uids BASE   Run each mapper under a uid of its own: modbus BASE+1, opcua BASE+2,
                       ble BASE+3, bluetooth BASE+4, zigbee BASE+5, all in group BASE (which may
                       use the DMI socket). A mapper owns its DATA-DIR/mappers/PROTOCOL (0700,
                       its secret files 0600), so no mapper reads another's. edgecore must run
                       as root; otherwise this is refused.          (default: off)
  --dmi-socket PATH    KubeEdge's DMI (gRPC v1beta1) for mapper-framework mappers, on this unix
                       socket (mode 0660); KubeEdge's own path is /etc/kubeedge/dmi.sock.
                                                        (default: DATA-DIR/dmi/dmi.sock)
  --no-dmi             Do not serve DMI.
  --dmi-anonymous MODE DMI calls without a token (KubeEdge mappers send none): unmanaged lets
                       them serve only protocols edgecore runs no mapper of its own for; deny
                       refuses them all. The mappers edgecore starts always use a token of their
                       own.                                        (default: unmanaged)
  --external-mapper PROTOCOL  Start no mapper of ours for PROTOCOL: another program (e.g. a
                       KubeEdge mapper) serves it over DMI without a token (repeatable).
  --pods DIR           Run the Pod manifests in DIR on this node (static pods; watched).
  --runtime R          Pod runtime: containerd, process or auto.   (default: auto)
  --containerd-address PATH  containerd's socket.   (default: /run/containerd/containerd.sock)
  --cloud URL          Join cloudcore (http(s)://HOST:PORT): devices and desired values then come
                       from Kubernetes instead of --devices, and the pods Kubernetes binds to this
                       node run here (with --pods too, if given).
  --token-file FILE    File holding the join token from "edgetwin cloud token create" (needed
                       until the node has joined; over https the node then keeps a client
                       certificate from cloudcore's CA in DATA-DIR/cloud-pki, renewed on its own).
  --token TOKEN        The join token on the command line: visible to every local user in ps;
                       prefer --token-file or EDGETWIN_JOIN_TOKEN.
  --cloud-ca FILE      PEM CA of cloudcore's TLS certificate.
  --log-level LEVEL    trace, debug, info, warn, error.            (default: info)
  -h, --help           Show this help.

Environment: EDGETWIN_LOG_LEVEL sets the default log level; EDGETWIN_JOIN_TOKEN holds the join
token (read once and removed from the environment the mappers and pods inherit).`;

export async function edgeCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      devices: { type: 'string', default: 'devices' },
      'max-devices-file-bytes': { type: 'string' },
      'data-dir': { type: 'string', default: '.data/edgecore' },
      'node-name': { type: 'string', default: hostname() },
      'mqtt-port': { type: 'string', default: '1883' },
      'mqtt-url': { type: 'string' },
      'mqtt-allow-anonymous': { type: 'boolean', default: false },
      'no-mqtt-auth': { type: 'boolean', default: false },
      'mqtt-tls-port': { type: 'string' },
      'mqtt-tls-cert': { type: 'string' },
      'mqtt-tls-key': { type: 'string' },
      'mqtt-tls-ca': { type: 'string' },
      'http-port': { type: 'string', default: '8080' },
      'http-host': { type: 'string', default: '127.0.0.1' },
      'http-auth': { type: 'string', default: 'auto' },
      insecure: { type: 'boolean', default: false },
      'http-allowed-host': { type: 'string', multiple: true },
      'http-cors-origin': { type: 'string', multiple: true },
      'http-metrics-open': { type: 'boolean', default: false },
      'http-tls-cert': { type: 'string' },
      'http-tls-key': { type: 'string' },
      'http-tls-ca': { type: 'string' },
      'data-topic-base': { type: 'string', default: 'devices' },
      'no-mappers': { type: 'boolean', default: false },
      'mapper-uids': { type: 'string' },
      'history-retention': { type: 'string', default: '24' },
      'dmi-socket': { type: 'string' },
      'no-dmi': { type: 'boolean', default: false },
      'dmi-anonymous': { type: 'string', default: 'unmanaged' },
      'external-mapper': { type: 'string', multiple: true },
      pods: { type: 'string' },
      cloud: { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      'cloud-ca': { type: 'string' },
      runtime: { type: 'string', default: 'auto' },
      'containerd-address': { type: 'string' },
      'log-level': { type: 'string', default: process.env.EDGETWIN_LOG_LEVEL ?? 'info' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(EDGE_HELP);
    return 0;
  }
  const devicesDir = resolve(values.devices);
  const isDir = await stat(devicesDir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir && values.cloud === undefined)
    throw new CliError(`--devices ${devicesDir}: not a directory (create it, or point --devices at your YAML files)`);
  const logger = createLogger('edgecore', values['log-level']);
  const cloudToken = await joinToken(values.token, values['token-file'], logger);
  const tlsPort = values['mqtt-tls-port'];
  if (tlsPort !== undefined && (!values['mqtt-tls-cert'] || !values['mqtt-tls-key']))
    throw new CliError('--mqtt-tls-port needs --mqtt-tls-cert FILE and --mqtt-tls-key FILE');
  const core = new EdgeCore({
    devicesDir,
    maxDevicesFileBytes: parseBytes('--max-devices-file-bytes', values['max-devices-file-bytes']),
    dataDir: resolve(values['data-dir']),
    nodeName: values['node-name'],
    logger,
    mqttPort: parsePort('--mqtt-port', values['mqtt-port']),
    mqttUrl: values['mqtt-url'],
    mqttAllowAnonymous: values['mqtt-allow-anonymous'],
    mqttAuth: !values['no-mqtt-auth'],
    mqttTls:
      tlsPort === undefined
        ? undefined
        : {
            port: parsePort('--mqtt-tls-port', tlsPort),
            certFile: resolve(values['mqtt-tls-cert']!),
            keyFile: resolve(values['mqtt-tls-key']!),
            ...(values['mqtt-tls-ca'] ? { caFile: resolve(values['mqtt-tls-ca']) } : {}),
          },
    httpPort: parsePort('--http-port', values['http-port']),
    httpHost: values['http-host'],
    httpAuth: parseHttpAuth(values['http-auth']),
    httpInsecure: values.insecure,
    ...(values['http-allowed-host'] ? { httpAllowedHosts: values['http-allowed-host'] } : {}),
    ...(values['http-cors-origin'] ? { httpCorsOrigins: values['http-cors-origin'] } : {}),
    httpMetricsOpen: values['http-metrics-open'],
    httpTls: httpTls(values['http-tls-cert'], values['http-tls-key'], values['http-tls-ca']),
    dataTopicBase: values['data-topic-base'],
    mappers: !values['no-mappers'],
    mapperUids: parseMapperUids(values['mapper-uids']),
    historyRetentionMs: parseHours('--history-retention', values['history-retention']),
    dmiSocket: values['no-dmi']
      ? false
      : values['dmi-socket'] === undefined
        ? undefined
        : resolve(values['dmi-socket']),
    dmiAnonymous: parseDmiAnonymous(values['dmi-anonymous']),
    ...(values['external-mapper'] ? { externalMappers: values['external-mapper'] } : {}),
    podsDir: values.pods === undefined ? undefined : resolve(values.pods),
    podRuntime: parseRuntime(values.runtime),
    containerdAddress: values['containerd-address'],
    cloudUrl: values.cloud,
    cloudToken,
    cloudCa: values['cloud-ca'],
  });
  return runUntilSignal(core, logger);
}

/** --mapper-uids BASE: checked here (a number, edgecore is root) so a wrong start fails before anything runs. */
function parseMapperUids(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new CliError(`--mapper-uids ${text}: expected a number (the mappers' group id)`);
  const base = Number(text);
  mapperUsers(base); // throws ET_CONFIG_INVALID: out of range, or edgecore is not root
  return base;
}

function parseDmiAnonymous(text: string): DmiAnonymous {
  const mode = DMI_ANONYMOUS_MODES.find((m) => m === text);
  if (!mode) throw new CliError(`--dmi-anonymous ${text}: expected one of ${DMI_ANONYMOUS_MODES.join(', ')}`);
  return mode;
}

function parseBytes(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new CliError(`${flag} ${text}: expected a positive number of bytes`);
  return n;
}

/** Starts a daemon, waits for SIGINT/SIGTERM, stops it; a second signal exits at once. */
export async function runUntilSignal(
  daemon: { start(): Promise<void>; stop(): Promise<void> },
  logger: { info(msg: string): void; error(obj: unknown, msg: string): void },
): Promise<number> {
  try {
    await daemon.start();
  } catch (err) {
    logger.error({ err }, 'start-up failed');
    await daemon.stop().catch(() => undefined);
    throw err;
  }
  const signal = await new Promise<NodeJS.Signals>((resolveSignal) => {
    process.once('SIGINT', () => resolveSignal('SIGINT'));
    process.once('SIGTERM', () => resolveSignal('SIGTERM'));
  });
  logger.info(`${signal} received, shutting down (send it again to exit at once)`);
  process.once(signal, () => process.exit(130));
  await daemon.stop();
  return 0;
}

/**
 * The join token from --token-file, EDGETWIN_JOIN_TOKEN or --token (in that order). The variable
 * is removed from this process's environment so that the processes edgecore starts do not inherit it.
 */
export async function joinToken(
  argv: string | undefined,
  file: string | undefined,
  logger: { warn(msg: string): void },
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  const fromEnv = env.EDGETWIN_JOIN_TOKEN;
  delete env.EDGETWIN_JOIN_TOKEN;
  if (file !== undefined) {
    const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new CliError(`--token-file ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    });
    const token = text.trim();
    if (!token) throw new CliError(`--token-file ${file}: the file is empty`);
    return token;
  }
  if (fromEnv) return fromEnv.trim();
  if (argv !== undefined)
    logger.warn(
      '--token puts the join token on the command line, where every local user sees it (ps); use --token-file FILE or EDGETWIN_JOIN_TOKEN',
    );
  return argv;
}

function parseHttpAuth(value: string): 'auto' | 'tokens' | 'none' {
  if (value === 'auto' || value === 'tokens' || value === 'none') return value;
  throw new CliError(`--http-auth ${value}: expected auto, tokens or none`);
}

function httpTls(cert: string | undefined, key: string | undefined, ca: string | undefined) {
  if (cert === undefined && key === undefined && ca === undefined) return undefined;
  if (!cert || !key)
    throw new CliError('--http-tls-cert and --http-tls-key go together (and --http-tls-ca needs both)');
  return { certFile: resolve(cert), keyFile: resolve(key), ...(ca ? { caFile: resolve(ca) } : {}) };
}

function parseRuntime(value: string): 'containerd' | 'process' | 'auto' {
  if (value === 'containerd' || value === 'process' || value === 'auto') return value;
  throw new CliError(`--runtime ${value}: expected containerd, process or auto`);
}
