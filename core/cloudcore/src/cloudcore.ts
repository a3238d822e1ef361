/**
 * cloudcore: the composition root of the cloud side. Kubernetes device controller (informers,
 * status and spec writers), the per-node sync, the cloud hub (websocket server with join and node
 * authentication) and the state store (tokens, nodes) in its data dir.
 */
import { DeviceController, type StatusLayout } from './k8s/index.js';
import { pino, type Logger } from 'pino';
import { CloudHub } from './hub/cloud-hub.js';
import { POD_GROUP } from '@edgetwin/cloud-link';
import { CloudCa, DEFAULT_NODE_CERT_LIFETIME_MS } from './cloud-ca.js';
import { CoreApiSync } from './core-api-sync.js';
import { NodeSync } from './node-sync.js';
import { CloudStateStore } from './state-store.js';

export interface CloudCoreOptions {
  /** kubeconfig file; the default locations (KUBECONFIG, ~/.kube/config) when omitted. */
  kubeconfig?: string;
  /** Where tokens, the node list (cloudcore.db) and the node CA (pki/) live; made 0700. */
  dataDir: string;
  host?: string;
  /** Port of the cloud hub (default 10000; 0 picks a free one). */
  port?: number;
  /**
   * PEM certificate and key: serve https/wss instead of http/ws. Nodes then get client
   * certificates from cloudcore's CA at join and authenticate with them.
   */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Lifetime of the node certificates the CA issues (default 365 days); edges renew at 80 %. */
  nodeCertLifetimeMs?: number;
  keepaliveMs?: number;
  /** Minimum time between two status patches of one device (default 1000 ms). */
  statusIntervalMs?: number;
  /** Device.status or KubeEdge 1.23's DeviceStatus resource; `auto` (default) asks the API server. */
  statusLayout?: StatusLayout | 'auto';
  watchTimeoutSeconds?: number;
  /** An edge silent this long turns its Node NotReady (default 40 s); its pods are never evicted. */
  nodeGracePeriodMs?: number;
  logger?: Logger;
}

export const DEFAULT_CLOUD_PORT = 10000;

export class CloudCore {
  readonly controller: DeviceController;
  readonly store: CloudStateStore;
  /** The CA that issues node certificates (`<dataDir>/pki`). */
  readonly ca: CloudCa;
  readonly nodeSync: NodeSync;
  readonly hub: CloudHub;
  /** Nodes, Leases and Pods (off on a cluster without the core API). */
  readonly coreApi: CoreApiSync;
  private readonly log: Logger;
  private heartbeats: Array<{ name: string; devices: number; at: number }> = [];
  private hbTimer: NodeJS.Timeout | undefined;

  constructor(opts: CloudCoreOptions) {
    this.log = (opts.logger ?? pino({ level: 'info' })).child({ module: 'cloudcore' });
    this.store = new CloudStateStore(opts.dataDir);
    this.ca = CloudCa.open(opts.dataDir);
    const ca = this.ca;
    const lifetime = opts.nodeCertLifetimeMs ?? DEFAULT_NODE_CERT_LIFETIME_MS;
    this.controller = new DeviceController({
      logger: this.log,
      ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
      ...(opts.statusIntervalMs !== undefined ? { statusIntervalMs: opts.statusIntervalMs } : {}),
      ...(opts.watchTimeoutSeconds !== undefined ? { watchTimeoutSeconds: opts.watchTimeoutSeconds } : {}),
      ...(opts.statusLayout !== undefined ? { statusLayout: opts.statusLayout } : {}),
    });
    this.nodeSync = new NodeSync(
      this.controller,
      {
        connected: (node, address) => this.store.setConnected(node, true, address),
        disconnected: (node) => {
          if (!this.hub.session(node)) this.store.setConnected(node, false);
        },
        heartbeat: (name, devices) => this.heartbeats.push({ name, devices, at: Date.now() }),
      },
      this.log,
    );
    this.coreApi = new CoreApiSync({
      client: this.controller.client,
      logger: this.log,
      ...(opts.nodeGracePeriodMs !== undefined ? { nodeGracePeriodMs: opts.nodeGracePeriodMs } : {}),
      ...(opts.statusIntervalMs !== undefined ? { statusIntervalMs: opts.statusIntervalMs } : {}),
      ...(opts.watchTimeoutSeconds !== undefined ? { watchTimeoutSeconds: opts.watchTimeoutSeconds } : {}),
    });
    this.hub = new CloudHub({
      port: opts.port ?? DEFAULT_CLOUD_PORT,
      ...(opts.host ? { host: opts.host } : {}),
      ...(opts.tls ? { tls: opts.tls } : {}),
      nodeCa: { cert: ca.cert, issue: (node, csr) => ca.issueNodeCert(node, csr, lifetime) },
      ...(opts.keepaliveMs ? { keepaliveMs: opts.keepaliveMs } : {}),
      auth: this.store,
      // Devices go to the node sync, pods and Node status (route group `pod`) to the core API sync.
      handler: {
        connected: (s) => {
          this.nodeSync.connected(s);
          this.coreApi.connected(s);
        },
        disconnected: (s) => {
          this.nodeSync.disconnected(s);
          this.coreApi.disconnected(s);
        },
        message: (s, e) => {
          if (e.route.group === POD_GROUP) return this.coreApi.message(s, e);
          if (e.route.operation === 'heartbeat') this.coreApi.heartbeat(s.node);
          this.nodeSync.message(s, e);
        },
      },
      logger: this.log,
      metrics: () => this.metricsText(),
    });
  }

  get port(): number {
    return this.hub.port;
  }

  async start(): Promise<void> {
    this.store.resetConnections();
    await this.controller.start();
    await this.coreApi.start();
    this.nodeSync.start();
    await this.hub.start();
    this.hbTimer = setInterval(() => this.flushHeartbeats(), 1000);
  }

  /** Prometheus text format, served on the hub's `GET /metrics`. */
  metricsText(): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, samples: Array<[string, number]>) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, v] of samples) lines.push(`${name}${labels} ${v}`);
    };
    const inf = { devices: this.controller.devices, devicemodels: this.controller.models };
    metric('edgetwin_cloud_nodes_connected', 'gauge', 'Edge nodes with an open websocket.', [
      ['', this.hub.connectedNodes().length],
    ]);
    metric(
      'edgetwin_cloud_objects',
      'gauge',
      'Objects in the informer caches.',
      Object.entries(inf).map(([r, i]) => [`{resource="${r}"}`, i.cache.size]),
    );
    metric(
      'edgetwin_cloud_informer_lists_total',
      'counter',
      'Full lists by the informers (start and after 410 Gone).',
      Object.entries(inf).map(([r, i]) => [`{resource="${r}"}`, i.stats.lists]),
    );
    metric(
      'edgetwin_cloud_informer_gone_total',
      'counter',
      'Watches that ended with 410 Gone.',
      Object.entries(inf).map(([r, i]) => [`{resource="${r}"}`, i.stats.gone]),
    );
    metric('edgetwin_cloud_status_patches_total', 'counter', 'Device status merge patches sent.', [
      ['', this.controller.status.patches],
    ]);
    metric('edgetwin_cloud_status_conflicts_total', 'counter', 'Status patches answered with 409 Conflict (retried).', [
      ['', this.controller.status.conflicts],
    ]);
    const pods = this.coreApi.pods;
    if (pods) {
      metric('edgetwin_cloud_pods', 'gauge', 'Pods bound to nodes (relayed to edges).', [['', pods.pods.cache.size]]);
      metric('edgetwin_cloud_pod_status_patches_total', 'counter', 'Pod status merge patches sent.', [
        ['', pods.status.patches],
      ]);
    }
    return `${lines.join('\n')}\n`;
  }

  private flushHeartbeats(): void {
    if (this.heartbeats.length === 0) return;
    const items = this.heartbeats;
    this.heartbeats = [];
    this.store.heartbeats(items);
  }

  async stop(): Promise<void> {
    clearInterval(this.hbTimer);
    await this.hub.stop();
    this.nodeSync.stop();
    await this.coreApi.stop();
    await this.controller.stop();
    this.flushHeartbeats();
    this.store.resetConnections();
    this.store.close();
  }
}
