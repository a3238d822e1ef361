/**
 * edgecore's composition root: twin store and service, MQTT (embedded aedes or an external
 * broker), the twin protocol handler, the HTTP API, the devices directory and the mapper
 * supervisor. start() brings them up in dependency order; stop() takes them down in reverse.
 * The parts a node may not use (the embedded broker, the pod agent, the cloud link) are imported
 * when they start, so a node without them does not carry their code and dependencies in memory.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import {
  HistoryRecorder,
  HistoryStore,
  MetricsRegistry,
  TwinMqttHandler,
  TwinService,
  collectGarbageNow,
  createHttpApi,
  startOptimizing,
  openTwinStore,
  type TwinStore,
} from '@edgetwin/device-twin';
import { EdgeTwinError, errorMessage } from '@edgetwin/sdk';
import { MqttConnection, MqttError } from '@edgetwin/sdk/mqtt';
import type { EmbeddedBroker } from '../broker/embedded-broker.js';
import type { BrokerAccess } from '../security/broker-access.js';
import type { TokenVerifier } from '../security/http-tokens.js';
import { ensureEdgecoreIdentity, ensureMapperIdentity } from '../security/machine-identities.js';
import { MapperSupervisor } from '../supervisor/mapper-supervisor.js';
import {
  checkMapperPrograms,
  checkSearchable,
  mapperUsers,
  openMappersDir,
  type MapperUsers,
} from '../supervisor/mapper-users.js';
import { DeviceDirectorySync } from './device-sync.js';
import { consoleRoutes } from './console-routes.js';
import { nodeRoutes } from './node-routes.js';
import { createPairing, pairingRoutes, type PairingService } from './pairing/index.js';
import type { DmiServer } from '../dmi/dmi-server.js';
import type { PodAgent } from '@edgetwin/agent';
import type { EdgeCloudSync } from '../hub/edge-cloud-sync.js';
import type { EdgeCoreOptions } from './edgecore-options.js';

export type { EdgeCoreOptions } from './edgecore-options.js';

export class EdgeCore {
  private store: TwinStore | undefined;
  twin: TwinService | undefined;
  private history: HistoryStore | undefined;
  private recorder: HistoryRecorder | undefined;
  private broker: EmbeddedBroker | undefined;
  private access: BrokerAccess | undefined;
  private tokens: TokenVerifier | undefined;
  private client: MqttConnection | undefined;
  private publisher: MqttConnection | undefined;
  private handler: TwinMqttHandler | undefined;
  private http: Awaited<ReturnType<typeof createHttpApi>> | undefined;
  devices: DeviceDirectorySync | undefined;
  private supervisor: MapperSupervisor | undefined;
  private pairing: PairingService | undefined;
  dmi: DmiServer | undefined;
  /** The protocols this node's devices use. */
  private protocols = new Set<string>();
  agent: PodAgent | undefined;
  cloud: EdgeCloudSync | undefined;
  readonly metrics = new MetricsRegistry();
  /** Where the MQTT broker is, once started. */
  mqttUrl = '';
  /** The embedded broker's TLS listener, once started ('' without one). */
  mqttTlsUrl = '';
  /** The HTTP API's base URL, once started. */
  httpUrl = '';

  constructor(private readonly opts: EdgeCoreOptions) {}

  async start(): Promise<void> {
    const { logger, nodeName } = this.opts;
    await mkdir(this.opts.dataDir, { recursive: true });
    this.store = openTwinStore({ file: join(this.opts.dataDir, 'edgetwin.db') });
    const twin = new TwinService({ store: this.store, logger, nodeName });
    this.twin = twin;
    await twin.start();
    if (this.opts.historyRetentionMs !== 0) {
      this.history = new HistoryStore({
        file: join(this.opts.dataDir, 'history.db'),
        ...(this.opts.historyRetentionMs ? { layout: { retentionMs: this.opts.historyRetentionMs } } : {}),
      });
      this.recorder = new HistoryRecorder({ twin, store: this.history, logger });
      this.recorder.start();
    }

    const auth = this.opts.mqttAuth !== false;
    const self = auth ? await ensureEdgecoreIdentity(this.opts.dataDir) : undefined;
    if (this.opts.mqttUrl) {
      this.mqttUrl = this.opts.mqttUrl;
    } else {
      await this.startBroker(auth);
    }
    const credentials = self ? { username: self.username, password: self.password } : {};
    // Two connections, as KubeEdge's eventbus has: answers leave on `publisher`, requests come in
    // on `client`, which stops handing them while the publisher's window is full. Its PUBACKs
    // then never wait behind requests the reader left in the socket (a lock-up under overload).
    const mqttLog = logger.child({ module: 'mqtt' });
    this.publisher = await connectBroker(
      this.mqttUrl,
      { clientId: `edgecore-${nodeName}-pub`, ...credentials },
      mqttLog,
    );
    this.client = await connectBroker(
      this.mqttUrl,
      { clientId: `edgecore-${nodeName}`, outgoing: this.publisher, ...credentials },
      mqttLog,
    );
    const handler = new TwinMqttHandler({
      twin,
      client: this.client,
      publisher: this.publisher,
      nodeName,
      logger,
      ...(this.opts.dataTopicBase ? { dataTopicBase: this.opts.dataTopicBase } : {}),
    });
    this.handler = handler;
    await handler.start();

    const onProtocols = (protocols: Set<string>) => {
      this.protocols = protocols;
      this.superviseProtocols();
    };
    if (this.opts.cloudUrl) {
      await this.startDmiAndMappers(auth);
      await this.startPods();
      await this.startCloud(onProtocols);
    } else {
      // Devices first: MQTT answers for them start as soon as they are in. What no answer needs
      // (DMI with gRPC, the pod agent, the HTTP API with fastify) is loaded after that, once the
      // start-up publishes are acknowledged (at most 1 s), so requests already waiting are
      // answered before the event loop is busy compiling those modules.
      this.devices = new DeviceDirectorySync({
        dir: this.opts.devicesDir,
        nodeName,
        twin,
        logger,
        onProtocols,
        maxFileBytes: this.opts.maxDevicesFileBytes,
      });
      await this.devices.start();
      await this.publisher.whenAcknowledged(1000);
      await answerWaitingRequests();
      await this.startDmiAndMappers(auth);
      await this.startPods();
    }

    const client = this.client;
    const publisher = this.publisher;
    const { httpSecurity } = await import('./http-security.js');
    const security = await httpSecurity(
      {
        dataDir: this.opts.dataDir,
        host: this.opts.httpHost ?? '127.0.0.1',
        ...(this.opts.httpAuth ? { auth: this.opts.httpAuth } : {}),
        ...(this.opts.httpInsecure ? { insecure: true } : {}),
        ...(this.opts.httpAllowedHosts ? { allowedHosts: this.opts.httpAllowedHosts } : {}),
        ...(this.opts.httpCorsOrigins ? { corsOrigins: this.opts.httpCorsOrigins } : {}),
        ...(this.opts.httpMetricsOpen ? { metricsOpen: true } : {}),
        ...(this.opts.httpTls ? { tls: this.opts.httpTls } : {}),
      },
      logger.child({ module: 'http-security' }),
    );
    this.tokens = security.verifier;
    const pairing = createPairing({
      nodeName,
      logger,
      mqttUrl: this.mqttUrl,
      credentials: self,
      mappers: () => this.supervisor?.status(),
    });
    this.pairing = pairing;
    this.http = await createHttpApi({
      access: security.access,
      ...(security.https ? { https: security.https } : {}),
      twin,
      logger: logger.child({ module: 'http' }),
      metrics: this.metrics,
      ...(this.history ? { history: this.history } : {}),
      routes: (api) => {
        nodeRoutes(api, {
          nodeName,
          mappers: () => this.supervisor?.status() ?? [],
          problems: () => this.devices?.problems ?? [],
        });
        pairingRoutes(api, pairing);
      },
      ready: () => (client.connected && publisher.connected ? true : 'not connected to the MQTT broker'),
    });
    consoleRoutes(this.http);
    const address = await this.http
      .listen({ port: this.opts.httpPort, host: this.opts.httpHost ?? '127.0.0.1' })
      .catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EADDRINUSE') throw err;
        throw new EdgeTwinError(
          'ET_CONFIG_INVALID',
          `HTTP port ${this.opts.httpPort} is already in use; stop what uses it or pick another with --http-port`,
          { cause: err },
        );
      });
    this.httpUrl = address;
    logger.info({ http: address, mqtt: this.mqttUrl, node: nodeName }, 'edgecore started');
    this.settleHeap();
  }

  /**
   * DMI, then the mapper supervisor: a protocol whose mapper registered over DMI (remembered in
   * DMI's state file) gets no mapper of ours. The supervisor then starts the mappers of the
   * protocols already known (devices loaded before DMI).
   */
  private async startDmiAndMappers(auth: boolean): Promise<void> {
    const { logger, nodeName } = this.opts;
    const twin = this.twin!;
    const { DMI_STATE_FILE, DmiServer, defaultDmiSocket } = await import('../dmi/dmi-server.js');
    const { DmiAccess } = await import('../dmi/dmi-access.js');
    const dmiSocket = this.opts.dmiSocket || defaultDmiSocket(this.opts.dataDir);
    if (this.opts.dmiSocket === false && this.opts.mappers !== false)
      throw new EdgeTwinError(
        'ET_CONFIG_INVALID',
        'edgecore starts its mappers over DMI: serving no DMI (--no-dmi) needs --no-mappers too',
      );
    const external = new Set(this.opts.externalMappers ?? []);
    // A protocol is managed when edgecore runs its mapper (and so holds that mapper's DMI token).
    const managed = (protocol: string) =>
      !external.has(protocol) && this.supervisor?.commandFor(protocol) !== undefined;
    const access = new DmiAccess({ anonymous: this.opts.dmiAnonymous ?? 'unmanaged', managed });
    const users = await this.mapperUsers(dmiSocket);
    if (this.opts.mappers !== false)
      this.supervisor = new MapperSupervisor({
        logger,
        dmiSocket,
        mqttUrl: this.mqttUrl,
        nodeName,
        dataDir: this.opts.dataDir,
        ...(this.opts.mapperCommands ? { commands: this.opts.mapperCommands } : {}),
        ...(this.opts.mapperStdio ? { stdio: this.opts.mapperStdio } : {}),
        onExit: (protocol) => this.mapperExited(protocol),
        dmiTokens: access,
        ...(users ? { users } : {}),
        ...(auth
          ? {
              credentials: async (protocol: string) => {
                const c = await ensureMapperIdentity(this.opts.dataDir, protocol);
                await this.access?.reload(); // so the mapper's first connection already finds it
                return { EDGETWIN_MQTT_USERNAME: c.username, EDGETWIN_MQTT_PASSWORD_FILE: c.passwordFile };
              },
            }
          : {}),
      });
    // Before any mapper starts: its uid must be able to run its program (refused at start, with the path to fix).
    if (users && this.supervisor) await checkMapperPrograms(this.supervisor, users.gid);
    if (this.opts.dmiSocket !== false) {
      this.dmi = new DmiServer({
        socketPath: dmiSocket,
        stateFile: join(this.opts.dataDir, DMI_STATE_FILE),
        access,
        twin,
        logger,
        onMappersChanged: () => this.superviseProtocols(),
        group: users?.gid,
      });
      await this.dmi.start();
      logger.info(
        { anonymous: access.anonymous, external: [...external] },
        access.anonymous === 'deny'
          ? 'DMI: only the mappers edgecore starts may call (--dmi-anonymous deny)'
          : 'DMI: calls without a token may serve only protocols edgecore runs no mapper of its own for',
      );
    }
    this.superviseProtocols();
  }

  /** --mapper-uids: the mappers' users (edgecore must be root), with the data and DMI directories open to their group. */
  private async mapperUsers(dmiSocket: string): Promise<MapperUsers | undefined> {
    if (this.opts.mapperUids === undefined || this.opts.mappers === false) return undefined;
    const users = mapperUsers(this.opts.mapperUids);
    await openMappersDir(this.opts.dataDir, users.gid);
    await checkSearchable(dirname(dirname(dmiSocket)), users.gid, 'the DMI socket');
    this.opts.logger.info({ gid: users.gid }, 'mappers run under their own uids (--mapper-uids)');
    return users;
  }

  /** The pod agent runs static pods (--pods) and, when joined to a cloud, the pods Kubernetes binds here. */
  private async startPods(): Promise<void> {
    if (!this.opts.podsDir && !this.opts.cloudUrl) return;
    const { PodAgent } = await import('@edgetwin/agent');
    this.agent = new PodAgent({
      dataDir: this.opts.dataDir,
      nodeName: this.opts.nodeName,
      logger: this.opts.logger.child({ module: 'agent' }),
      runtime: this.opts.podRuntime ?? 'auto',
      ...(this.opts.podsDir ? { podsDir: this.opts.podsDir } : {}),
      ...(this.opts.containerdAddress ? { containerdAddress: this.opts.containerdAddress } : {}),
    });
    await this.agent.start();
  }

  /** Cloud-joined: Kubernetes is the source of devices and desired values; twins keep working offline. */
  private async startCloud(onProtocols: (protocols: Set<string>) => void): Promise<void> {
    const { EdgeCloudSync } = await import('../hub/edge-cloud-sync.js');
    this.cloud = new EdgeCloudSync({
      twin: this.twin!,
      dataDir: this.opts.dataDir,
      cloudUrl: this.opts.cloudUrl!,
      nodeName: this.opts.nodeName,
      logger: this.opts.logger,
      onProtocols,
      ...(this.agent ? { pods: this.agent } : {}),
      ...(this.opts.cloudKeepaliveMs ? { keepaliveMs: this.opts.cloudKeepaliveMs } : {}),
      ...(this.opts.cloudToken ? { token: this.opts.cloudToken } : {}),
      ...(this.opts.cloudCa ? { ca: await readFile(this.opts.cloudCa) } : {}),
    });
    await this.cloud.start();
  }

  /**
   * Our mapper processes for the protocols in use, except those served by another program: named
   * with --external-mapper, or registered over DMI without a token (only possible for a protocol we
   * have no mapper for, e.g. a mapper-framework mapper of a protocol of its own).
   */
  private superviseProtocols(): void {
    const dmi = this.dmi;
    const supervisor = this.supervisor;
    const external = new Set(this.opts.externalMappers ?? []);
    const foreign = (p: string) => {
      const reg = dmi?.links.get(p)?.reg;
      return external.has(p) || (reg !== undefined && reg.managed !== true);
    };
    supervisor?.setProtocols(new Set([...this.protocols].filter((p) => !foreign(p))));
  }

  private async startBroker(auth: boolean): Promise<void> {
    const { logger, nodeName } = this.opts;
    const { EmbeddedBroker } = await import('../broker/embedded-broker.js');
    if (auth) {
      const { BrokerAccess } = await import('../security/broker-access.js');
      this.access = new BrokerAccess({
        dataDir: this.opts.dataDir,
        nodeName,
        dataTopicBase: this.opts.dataTopicBase ?? 'devices',
        protocolOf: (id) => this.twin?.getDevice(id)?.protocolName,
        logger: logger.child({ module: 'broker-access' }),
        allowAnonymous: this.opts.mqttAllowAnonymous === true,
      });
      await this.access.start();
    }
    if (!auth || this.opts.mqttAllowAnonymous)
      logger.warn(
        'the embedded MQTT broker lets clients in without credentials, with full access (--mqtt-allow-anonymous)',
      );
    const tls = this.opts.mqttTls;
    this.broker = new EmbeddedBroker({
      port: this.opts.mqttPort,
      logger: logger.child({ module: 'broker' }),
      ...(this.access ? { access: this.access } : {}),
      ...(tls
        ? {
            tls: {
              port: tls.port,
              ...(tls.host ? { host: tls.host } : {}),
              cert: await readFile(tls.certFile),
              key: await readFile(tls.keyFile),
              ...(tls.caFile ? { ca: await readFile(tls.caFile) } : {}),
            },
          }
        : {}),
    });
    await this.broker.start();
    this.mqttUrl = this.broker.url;
    this.mqttTlsUrl = this.broker.tlsUrl ?? '';
  }

  /**
   * Once the start-up publishes (every device's spec, data and state topics) are acknowledged, or
   * after 10 s, collects the start-up garbage, so an idle edgecore does not hold on to it, and
   * lets V8 optimize what runs from now on (see tuneHeapForEdge's deferOptimizer).
   */
  private settleHeap(): void {
    const publisher = this.publisher;
    void publisher?.whenAcknowledged(10_000).then(() => {
      if (this.publisher !== publisher) return; // stopped meanwhile
      collectGarbageNow();
      startOptimizing();
    });
  }

  /** Stops everything; safe to call twice and after a failed start. */
  /**
   * A supervised mapper died: nothing reports for its devices any more, so they are shown offline
   * until the restarted mapper has its specs and says otherwise (a killed mapper says nothing).
   */
  private mapperExited(protocol: string): void {
    const twin = this.twin;
    if (!twin) return;
    for (const d of twin.listDevices()) {
      if (d.protocolName !== protocol || twin.getTwin(d.id)?.state === 'offline') continue;
      twin
        .setState(d.id, 'offline', { cause: `mapper-${protocol}-exited` })
        .catch((err: unknown) =>
          this.opts.logger.warn({ device: d.id, err: errorMessage(err) }, 'could not mark the device offline'),
        );
    }
  }

  async stop(): Promise<void> {
    const log = this.opts.logger;
    await this.http?.close();
    this.http = undefined;
    await this.pairing?.stop();
    this.pairing = undefined;
    await this.dmi?.stop();
    this.dmi = undefined;
    this.tokens?.stop();
    this.tokens = undefined;
    await this.devices?.stop();
    this.devices = undefined;
    await this.cloud?.stop();
    this.cloud = undefined;
    // Pods keep running across an edgecore restart; the agent adopts them on the next start.
    await this.agent?.stop();
    this.agent = undefined;
    await this.supervisor?.stop();
    this.supervisor = undefined;
    await this.handler?.stop();
    this.handler = undefined;
    await this.client?.end();
    this.client = undefined;
    await this.publisher?.end();
    this.publisher = undefined;
    await this.broker?.stop();
    this.broker = undefined;
    this.recorder?.stop();
    this.recorder = undefined;
    this.history?.close();
    this.history = undefined;
    this.access?.stop();
    this.access = undefined;
    await this.twin?.stop();
    this.twin = undefined;
    this.store?.close();
    this.store = undefined;
    log.info('edgecore stopped');
  }
}

/**
 * Two turns of the event loop: requests read meanwhile are handled and their answers written
 * before start-up goes on to work that holds the loop (loading modules).
 */
async function answerWaitingRequests(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
}

/**
 * Connects to the broker, waiting for it: failed attempts are logged and retried with backoff,
 * the first ones too (the broker may start after edgecore, e.g. under systemd). A bad URL or a
 * broker refusing edgecore's credentials is a configuration error.
 */
async function connectBroker(
  url: string,
  opts: { clientId: string; outgoing?: MqttConnection; username?: string; password?: string },
  parentLog: Logger,
): Promise<MqttConnection> {
  const log = parentLog.child({ clientId: opts.clientId });
  try {
    const conn = new MqttConnection({ url, ...opts, waitForBroker: true });
    let connectedOnce = false;
    conn.on('offline', (err, retryInMs) =>
      log.warn(
        { url: conn.safeUrl, err: err.message, retryInMs },
        connectedOnce
          ? 'MQTT broker connection lost; retrying with backoff'
          : 'MQTT broker unreachable; retrying with backoff',
      ),
    );
    conn.on('connect', () => {
      log.info(
        { url: conn.safeUrl },
        connectedOnce ? 'reconnected to the MQTT broker' : 'connected to the MQTT broker',
      );
      connectedOnce = true;
    });
    await conn.open();
    return conn;
  } catch (err) {
    if (err instanceof MqttError && err.permanent)
      throw new EdgeTwinError('ET_CONFIG_INVALID', err.message, { cause: err });
    throw err;
  }
}
