/**
 * The OPC UA simulator: a node-opcua server with the plant of `plant.ts`, secured endpoints
 * (Sign and SignAndEncrypt with every policy the mapper supports), optional user names and its own
 * PKI directory. Runs as a library (`startOpcuaSimulator`) and as `edgetwin-opcua-sim`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import {
  AccessLevelFlag,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAServer,
  SecurityPolicy,
  type NodeId,
  type ServerSession,
  type Subscription,
} from 'node-opcua';
import { certificateThumbprint, trustCertificateFile } from '../src/transport/pki.js';
import { buildPlant, PLANT_NAMESPACE_URI, type Plant } from './plant.js';

export interface OpcuaSimulatorOptions {
  /** TCP port; 0 or absent picks a free one. */
  port?: number;
  /** Host name in the endpoint URL and the certificate (default 127.0.0.1). */
  host?: string;
  /** The server's PKI folder (own certificate, trusted/rejected client certificates); default a temp dir removed by stop(). */
  pkiDir?: string;
  /** Offer only Sign and SignAndEncrypt endpoints (no unsecured endpoint). Default false. */
  secureOnly?: boolean;
  /** The policies of the Sign and SignAndEncrypt endpoints (default all three). */
  securityPolicies?: readonly SimSecurityPolicy[];
  /**
   * Accept client certificates that are not in `<pkiDir>/trusted/certs` (default true, so the
   * quickstart works without copying files). With false, trust clients with `trustClientCertificate`.
   */
  acceptUnknownClients?: boolean;
  /** User names and passwords the server accepts; none means user names are refused. */
  users?: Readonly<Record<string, string>>;
  /** Allow anonymous sessions (default true). */
  allowAnonymous?: boolean;
  /** Milliseconds between plant updates (default 500). */
  tickMs?: number;
  /** Extra Double variables `ns=2;s=Bench.V0000`... for benchmarks (default 0). */
  benchVariables?: number;
  /** Milliseconds between benchmark variable changes (default 100). */
  benchIntervalMs?: number;
}

export type SimSecurityPolicy = 'Basic256Sha256' | 'Aes128_Sha256_RsaOaep' | 'Aes256_Sha256_RsaPss';

/** A monitored item as the server revised it, for tests to check what a client asked for. */
export interface SimMonitoredItem {
  subscriptionId: number;
  /** The subscription's revised publishing interval, ms. */
  publishingInterval: number;
  /** The monitored node, e.g. `ns=2;s=Plant.Tank.Level`. */
  nodeId: string;
  /** The revised sampling interval, ms. */
  samplingInterval: number;
}

export interface OpcuaSimulator {
  /** `opc.tcp://host:port/edgetwin-sim` */
  url: string;
  port: number;
  pkiDir: string;
  /** The server certificate (PEM file) and its SHA-1 thumbprint (hex), for client trust lists. */
  certificateFile: string;
  thumbprint: string;
  plant: Plant;
  /** Sessions and subscriptions open on the server now. */
  sessionCount(): number;
  subscriptionCount(): number;
  /** The monitored items of every live subscription, with their revised intervals. */
  monitoredItems(): SimMonitoredItem[];
  /** Values written to `nodeId` (e.g. `ns=2;s=Plant.Heater.Setpoint`) by clients since the start. */
  writeCount(nodeId: string): number;
  /** Lets clients write `nodeId` or not (userAccessLevel; a refused write gets BadUserAccessDenied). */
  setUserWritable(nodeId: string, writable: boolean): void;
  /** Ends every client session on the server side (as a session timeout or an operator would). */
  dropSessions(): void;
  /** Adds a client certificate (PEM or DER file) to the server's trust list. */
  trustClientCertificate(file: string): Promise<void>;
  stop(): Promise<void>;
}

export const SIM_RESOURCE_PATH = '/edgetwin-sim';

async function pickPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startOpcuaSimulator(opts: OpcuaSimulatorOptions = {}): Promise<OpcuaSimulator> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port || (await pickPort(host));
  const pkiDir = opts.pkiDir ?? mkdtempSync(join(tmpdir(), 'edgetwin-opcua-sim-'));
  const users = opts.users ?? {};
  const certificateManager = new OPCUACertificateManager({
    rootFolder: pkiDir,
    automaticallyAcceptUnknownCertificate: opts.acceptUnknownClients ?? true,
    disableFileWatchers: true,
  });
  await certificateManager.initialize();
  const securityModes = [MessageSecurityMode.Sign, MessageSecurityMode.SignAndEncrypt];
  const securityPolicies: SecurityPolicy[] = (
    opts.securityPolicies ?? ['Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss']
  ).map((p) => SecurityPolicy[p]);
  if (!opts.secureOnly) {
    securityModes.unshift(MessageSecurityMode.None);
    securityPolicies.unshift(SecurityPolicy.None);
  }
  const server = new OPCUAServer({
    port,
    hostname: host,
    resourcePath: SIM_RESOURCE_PATH,
    serverCertificateManager: certificateManager,
    securityModes,
    securityPolicies,
    allowAnonymous: opts.allowAnonymous ?? true,
    userManager: { isValidUser: (name: string, password: string) => users[name] === password },
    buildInfo: { productName: 'EdgeTwin OPC UA simulator', manufacturerName: 'EdgeTwin' },
    serverInfo: { applicationName: { text: 'edgetwin-opcua-sim' } },
    disableDiscovery: true,
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace;
  if (!addressSpace) throw new Error('OPC UA simulator: the server has no address space after initialize()');
  const ns = addressSpace.registerNamespace(PLANT_NAMESPACE_URI);
  const plant = buildPlant(ns, opts.benchVariables ?? 0);
  const subscriptions = new Set<Subscription>();
  server.on('create_session', (session: ServerSession) => {
    session.on('new_subscription', (sub: Subscription) => {
      subscriptions.add(sub);
      sub.once('terminated', () => subscriptions.delete(sub));
    });
  });
  const writes = new Map<string, number>();
  server.on('request', (request: { schema?: { name?: string }; nodesToWrite?: { nodeId: NodeId }[] }) => {
    if (request.schema?.name !== 'WriteRequest') return;
    for (const w of request.nodesToWrite ?? []) {
      const id = w.nodeId.toString();
      writes.set(id, (writes.get(id) ?? 0) + 1);
    }
  });
  await server.start();

  const tickMs = opts.tickMs ?? 500;
  const tick = setInterval(() => plant.tick(tickMs), tickMs);
  const benchTick =
    (opts.benchVariables ?? 0) > 0 ? setInterval(() => plant.tickBench(), opts.benchIntervalMs ?? 100) : undefined;

  const certificateFile = server.certificateFile;
  return {
    url: `opc.tcp://${host}:${port}${SIM_RESOURCE_PATH}`,
    port,
    pkiDir,
    certificateFile,
    thumbprint: certificateThumbprint(server.getCertificate()),
    plant,
    sessionCount: () => server.currentSessionCount,
    writeCount: (nodeId) => writes.get(nodeId) ?? 0,
    setUserWritable(nodeId, writable) {
      const node = addressSpace.findNode(nodeId) as { userAccessLevel?: number } | null;
      if (!node) throw new Error(`OPC UA simulator: no node ${nodeId}`);
      node.userAccessLevel = writable
        ? AccessLevelFlag.CurrentRead | AccessLevelFlag.CurrentWrite
        : AccessLevelFlag.CurrentRead;
    },
    dropSessions() {
      // node-opcua keeps sessions in a private map; the simulator reaches in to end them.
      const engine = server.engine as unknown as { _sessions: Record<string, { authenticationToken: NodeId }> };
      for (const s of Object.values(engine._sessions))
        server.engine.closeSession(s.authenticationToken, true, 'Forcing');
    },
    subscriptionCount: () => server.currentSubscriptionCount,
    monitoredItems: () =>
      [...subscriptions].flatMap((sub) =>
        [...sub.getMonitoredItems().serverHandles].flatMap((handle) => {
          const item = sub.getMonitoredItem(handle);
          if (!item) return [];
          return [
            {
              subscriptionId: sub.subscriptionId,
              publishingInterval: sub.publishingInterval,
              nodeId: item.node?.nodeId.toString() ?? String(item.itemToMonitor.nodeId),
              samplingInterval: item.samplingInterval,
            },
          ];
        }),
      ),
    trustClientCertificate: (file) => trustCertificateFile(certificateManager, file),
    async stop() {
      clearInterval(tick);
      if (benchTick) clearInterval(benchTick);
      await server.shutdown(0);
      await certificateManager.dispose();
      if (opts.pkiDir === undefined) rmSync(pkiDir, { recursive: true, force: true });
    },
  };
}
