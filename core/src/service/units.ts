/**
 * systemd units for edgecore and cloudcore. Each runs as the dedicated system user `edgetwin`
 * (created by systemd-sysusers from the sysusers.d file below), in a read-only file system
 * (`ProtectSystem=strict`) where only its state directory is writable, with no privileges
 * (`NoNewPrivileges`, empty capability sets) and restarts on failure. Secrets (a TLS key, a
 * kubeconfig, the join token) are passed with `LoadCredential=` or a root-only EnvironmentFile,
 * never on the command line.
 */

export type ServiceKind = 'edge' | 'cloud';

export interface UnitOptions {
  /** The node binary and the `edgetwin` script, absolute paths. */
  node: string;
  edgetwin: string;
  user: string;
  /** Extra `edgetwin edge|cloud` arguments (ports, node name, cloud URL, ...). */
  args: string[];
  /** Files the service reads through `LoadCredential=` (name -> absolute path on the host). */
  credentials?: Record<string, string>;
}

export const UNIT_NAMES: Record<ServiceKind, string> = {
  edge: 'edgetwin-edge.service',
  cloud: 'edgetwin-cloud.service',
};

/** Where each service keeps its state and configuration (relative to /var/lib and /etc). */
export const SERVICE_DIRS: Record<ServiceKind, { state: string; config: string }> = {
  edge: { state: 'edgetwin/edge', config: 'edgetwin/edge' },
  cloud: { state: 'edgetwin/cloud', config: 'edgetwin/cloud' },
};

export function sysusersConf(user: string): string {
  return [
    '# EdgeTwin: the system user edgecore and cloudcore run as (systemd-sysusers).',
    `u ${user} - "EdgeTwin edge and cloud services" /var/lib/edgetwin`,
    '',
  ].join('\n');
}

/** systemd quoting for one ExecStart word. */
function quote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `"${word.replace(/(["\\])/g, '\\$1')}"`;
}

export function renderUnit(kind: ServiceKind, o: UnitOptions): string {
  const dirs = SERVICE_DIRS[kind];
  const underHome = [o.node, o.edgetwin].some((p) => /^\/(home|root|run\/user)\//.test(p));
  const what =
    kind === 'edge'
      ? 'EdgeTwin edgecore: device twins, MQTT broker, HTTP API, protocol mappers'
      : 'EdgeTwin cloudcore: Kubernetes device sync and the cloud hub for edge nodes';
  const exec = [o.node, o.edgetwin, kind, ...o.args].map(quote).join(' ');
  const creds = Object.entries(o.credentials ?? {}).map(([name, path]) => `LoadCredential=${name}:${path}`);
  return [
    '# Written by "edgetwin service install"; re-run it to change the flags.',
    '[Unit]',
    `Description=${what}`,
    `Documentation=file:${o.edgetwin.replace(/\/bin\/edgetwin\.js$/, '/README.md')}`,
    'Wants=network-online.target',
    'After=network-online.target',
    // A crash loop keeps being retried (Restart=), with StartLimit turned off.
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    `User=${o.user}`,
    `Group=${o.user}`,
    ...(kind === 'edge'
      ? ['# serial Modbus RTU adapters (/dev/ttyUSB*) belong to dialout', 'SupplementaryGroups=dialout']
      : []),
    `ExecStart=${exec}`,
    // Also the join token for edge nodes: EDGETWIN_JOIN_TOKEN=... in a root-only (0600) file.
    `EnvironmentFile=-/etc/${dirs.config}/${kind}.env`,
    'Environment=NODE_ENV=production',
    ...creds,
    'Restart=on-failure',
    'RestartSec=5s',
    // edgecore stops its mappers on SIGTERM; whatever is left after the timeout is killed.
    'KillMode=mixed',
    'TimeoutStopSec=30s',
    `StateDirectory=${dirs.state}`,
    'StateDirectoryMode=0700',
    `ConfigurationDirectory=${dirs.config}`,
    'ConfigurationDirectoryMode=0750',
    'UMask=0077',
    '',
    '# Hardening',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    `ProtectHome=${underHome ? 'read-only' : 'yes'}`,
    'PrivateTmp=yes',
    ...(kind === 'cloud'
      ? ['PrivateDevices=yes']
      : [
          'DevicePolicy=closed',
          'DeviceAllow=char-ttyUSB rw',
          'DeviceAllow=char-ttyS rw',
          'DeviceAllow=char-ttyACM rw',
        ]),
    'CapabilityBoundingSet=',
    'AmbientCapabilities=',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'RestrictSUIDSGID=yes',
    'RestrictRealtime=yes',
    'RestrictNamespaces=yes',
    'LockPersonality=yes',
    'RemoveIPC=yes',
    `RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK${kind === 'edge' ? ' AF_BLUETOOTH' : ''}`,
    'SystemCallArchitectures=native',
    'SystemCallFilter=@system-service',
    'SystemCallErrorNumber=EPERM',
    '# Node.js compiles code at run time: MemoryDenyWriteExecute would stop it.',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
