/**
 * `edgetwin cloud ...`:
 *   edgetwin cloud [--kubeconfig FILE] [--port N] [--host H] [--data-dir DIR] [--tls-cert F --tls-key F]
 *                  [--node-grace-period 40s] [--status-layout auto|device|devicestatus] [--node-cert-lifetime 365d]
 *   edgetwin cloud token create [--node NAME [--replace]] [--ttl 24h] [--data-dir DIR]
 *   edgetwin cloud token list [--json] [--data-dir DIR]
 *   edgetwin cloud token revoke ID... [--data-dir DIR]
 *   edgetwin cloud nodes [--data-dir DIR] [--json]
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { errorMessage } from '@edgetwin/sdk';
import { CloudCore, DEFAULT_CLOUD_PORT } from './cloudcore.js';
import { CloudStateStore } from './state-store.js';
import { table, tokenCommand } from './token-command.js';

const USAGE = `usage:
  edgetwin cloud [--kubeconfig FILE] [--port N] [--host ADDR] [--data-dir DIR] [--tls-cert FILE --tls-key FILE]
                 [--node-grace-period 40s] [--status-layout auto|device|devicestatus] [--node-cert-lifetime 365d]
      run cloudcore: sync Devices and DeviceModels with the edge nodes (default port ${DEFAULT_CLOUD_PORT}), and
      on a cluster with the core API register them as Nodes and relay the Pods bound to them; a Node silent
      for longer than the grace period turns NotReady (its pods are not evicted). Reported values go to
      Device.status (device) or to KubeEdge 1.23's DeviceStatus resource (devicestatus); auto asks the API server.
      With --tls-cert/--tls-key
      nodes get client certificates from cloudcore's CA (<data dir>/pki) at join and renew them at 80 %
      of their lifetime; without TLS they get bearer node tokens (loopback and development only)
  edgetwin cloud token create [--node NAME [--replace]] [--ttl 24h] [--data-dir DIR]
      print a single-use join token (for node NAME only, if given); an existing node's credentials are
      replaced only by a token made with --replace (edgetwin edge --cloud URL --token-file FILE)
  edgetwin cloud token list [--json] [--data-dir DIR]
      list the join tokens: id, node, whether they may replace credentials, status, expiry, used by
  edgetwin cloud token revoke ID... [--data-dir DIR]
      revoke join tokens (a revoked token joins nothing)
  edgetwin cloud nodes [--data-dir DIR] [--json]
      list the edge nodes, whether they are connected, their last heartbeat, device count, address and
      when their certificate expires (TLS mode)
The data dir defaults to $EDGETWIN_CLOUD_DATA_DIR or ~/.edgetwin/cloud.
`;

export interface CloudCommandIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Resolves when cloudcore should stop (default: SIGINT or SIGTERM). */
  untilStopped?: () => Promise<void>;
}

const defaultIo: CloudCommandIo = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

function dataDirOf(v: string | undefined): string {
  return v ?? process.env.EDGETWIN_CLOUD_DATA_DIR ?? join(homedir(), '.edgetwin', 'cloud');
}

/** "24h", "30m", "7d", "3600s" or plain seconds -> ms. */
export function parseDuration(s: string, flag = '--ttl'): number {
  const m = /^(\d+)([smhd]?)$/.exec(s.trim());
  if (!m) throw new Error(`${flag} "${s}" is not a duration; use e.g. 30m, 24h or 7d`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit * 1000;
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

function ago(ms: number | undefined): string {
  if (ms === undefined) return '-';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}

export async function cloudCommand(argv: string[], io: CloudCommandIo = defaultIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        kubeconfig: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'data-dir': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        ttl: { type: 'string' },
        node: { type: 'string' },
        replace: { type: 'boolean' },
        'node-grace-period': { type: 'string' },
        'status-layout': { type: 'string' },
        'node-cert-lifetime': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    const dataDir = dataDirOf(values['data-dir']);
    const [cmd, sub] = positionals;
    if (cmd === 'token') {
      return tokenCommand({
        dataDir,
        sub,
        rest: positionals.slice(2),
        ttlMs: parseDuration(values.ttl ?? '24h'),
        node: values.node,
        replace: values.replace ?? false,
        json: values.json ?? false,
        out: io.out,
        err: io.err,
      });
    }
    if (cmd === 'nodes') {
      const store = new CloudStateStore(dataDir);
      try {
        const nodes = store.listNodes();
        if (values.json) {
          io.out(`${JSON.stringify(nodes, null, 2)}\n`);
        } else {
          const rows = [['NAME', 'STATUS', 'LAST-HEARTBEAT', 'DEVICES', 'ADDRESS', 'CERT-EXPIRES']];
          for (const n of nodes)
            rows.push([
              n.name,
              n.connected ? 'Connected' : 'Disconnected',
              ago(n.lastHeartbeat),
              String(n.devices),
              n.address ?? '-',
              n.certExpires === undefined ? '-' : new Date(n.certExpires).toISOString(),
            ]);
          io.out(table(rows));
        }
      } finally {
        store.close();
      }
      return 0;
    }
    if (cmd !== undefined) {
      io.err(`unknown command "cloud ${positionals.join(' ')}"\n${USAGE}`);
      return 2;
    }
    const port = values.port === undefined ? DEFAULT_CLOUD_PORT : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new Error(`--port "${values.port}" is not a port number`);
    if (Boolean(values['tls-cert']) !== Boolean(values['tls-key']))
      throw new Error('--tls-cert and --tls-key go together');
    const layout = values['status-layout'] ?? 'auto';
    if (layout !== 'auto' && layout !== 'device' && layout !== 'devicestatus')
      throw new Error(`--status-layout "${layout}" is not one of auto, device, devicestatus`);
    const cloud = new CloudCore({
      dataDir,
      port,
      statusLayout: layout,
      ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
      ...(values.host ? { host: values.host } : {}),
      ...(values['node-grace-period']
        ? { nodeGracePeriodMs: parseDuration(values['node-grace-period'], '--node-grace-period') }
        : {}),
      ...(values['node-cert-lifetime']
        ? { nodeCertLifetimeMs: parseDuration(values['node-cert-lifetime'], '--node-cert-lifetime') }
        : {}),
      ...(values['tls-cert'] && values['tls-key']
        ? { tls: { cert: readFileSync(values['tls-cert']), key: readFileSync(values['tls-key']) } }
        : {}),
    });
    await cloud.start();
    io.err(`cloudcore listening on port ${cloud.port} (data dir ${dataDir})\n`);
    await (io.untilStopped ?? waitForSignal)();
    await cloud.stop();
    return 0;
  } catch (err) {
    io.err(`edgetwin cloud: ${errorMessage(err)}\n`);
    return 1;
  }
}
