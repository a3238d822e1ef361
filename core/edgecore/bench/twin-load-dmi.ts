/**
 * The DMI side of the twin benchmark: the same reports as twin-load.ts, sent the way a KubeEdge
 * mapper-framework mapper sends them, as `ReportDeviceStatus` calls to edgecore's DMI socket (gRPC,
 * KubeEdge's DMI v1beta1 proto). The load registers one mapper for the devices' protocol with
 * `MapperRegister` (serving a DeviceMapperService that accepts whatever edgecore sends it), then
 * the simulated mappers (one gRPC connection each) report; a report counts as answered when its
 * call returns, which edgecore does once the value is committed to the twin.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { DMI_PROTO, DmiClient } from '@edgetwin/sdk/dmi';
import { nextTwins, offer, percentile, recordAnswered, type LoadConfig, type LoadResult } from './twin-load.js';

export interface DmiLoadConfig extends LoadConfig {
  /** edgecore's DMI socket. */
  dmiSocket: string;
  /** protocolName of the bench devices. */
  protocol: string;
  /**
   * Deadline of each call, ms (default 60 s). A mapper gives up on a report that edgecore has not
   * answered in time (the sdk's runtime after 5 s): open loop past capacity, calls then end as
   * DEADLINE_EXCEEDED instead of queueing in the load without bound.
   */
  deadlineMs?: number;
}

type Callback = (err: Error | null) => void;

/**
 * The simulated mappers' DMI clients: @grpc/grpc-js (generator `peer`, the default: an
 * independent gRPC implementation) or the sdk's own client on node:http2 (generator `sdk`, far
 * less CPU per call, so the load leaves more of the shared cores to edgecore).
 */
function dmiCallers(pkg: ReturnType<typeof services>, cfg: DmiLoadConfig) {
  const deadlineMs = cfg.deadlineMs ?? 60_000;
  if (cfg.generator === 'sdk') {
    const clients = Array.from(
      { length: cfg.mappers },
      () => new DmiClient({ socketPath: cfg.dmiSocket, service: 'DeviceManagerService', timeoutMs: deadlineMs }),
    );
    return {
      call: (k: number, method: string, req: object, cb: Callback) =>
        void clients[k]!.call(method as 'ReportDeviceStatus', req).then(
          () => cb(null),
          (err: Error) => cb(err),
        ),
      close: () => clients.forEach((c) => c.close()),
    };
  }
  const Manager = pkg.v1beta1.DeviceManagerService;
  // One connection per simulated mapper, as the MQTT load has (grpc-js would otherwise share one).
  const clients = Array.from(
    { length: cfg.mappers },
    () =>
      new Manager(`unix:${cfg.dmiSocket}`, grpc.credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
      }),
  );
  return {
    call: (k: number, method: string, req: object, cb: Callback) => {
      const client = clients[k]! as unknown as Record<string, Unary>;
      client[method]!.call(clients[k], req, { deadline: Date.now() + deadlineMs }, cb);
    },
    close: () => clients.forEach((c) => c.close()),
  };
}

type Unary = (req: unknown, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null) => void) => void;

function services() {
  const def = protoLoader.loadSync(DMI_PROTO, { keepCase: true, longs: Number, defaults: true });
  return grpc.loadPackageDefinition(def) as unknown as {
    v1beta1: {
      DeviceManagerService: grpc.ServiceClientConstructor;
      DeviceMapperService: grpc.ServiceClientConstructor;
    };
  };
}

/** A DeviceMapperService that says yes to everything: the bench measures edgecore, not a mapper. */
async function serveMapper(pkg: ReturnType<typeof services>, socket: string): Promise<grpc.Server> {
  const server = new grpc.Server();
  const ok: grpc.handleUnaryCall<unknown, unknown> = (_call, cb) => cb(null, {});
  // Every method of the service (read from its definition) answers OK.
  const service = pkg.v1beta1.DeviceMapperService.service;
  const impl: grpc.UntypedServiceImplementation = Object.fromEntries(Object.keys(service).map((n) => [n, ok]));
  server.addService(service, impl);
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  return server;
}

export async function runDmiLoad(cfg: DmiLoadConfig, onMeasuring?: () => void): Promise<LoadResult> {
  const pkg = services();
  const dir = mkdtempSync(join(tmpdir(), 'edgetwin-bench-dmi-'));
  const mapperSocket = join(dir, 'mapper.sock');
  const mapperServer = await serveMapper(pkg, mapperSocket);
  const { call, close } = dmiCallers(pkg, cfg);
  // Registering answers with all 1,000 devices: it gets a minute, whatever the reports' deadline.
  const registrar = dmiCallers(pkg, { ...cfg, mappers: 1, deadlineMs: 60_000 });
  await new Promise<void>((resolve, reject) =>
    registrar.call(
      0,
      'MapperRegister',
      {
        withData: true,
        mapper: {
          name: 'bench-dmi',
          version: '1',
          api_version: 'v1beta1',
          protocol: cfg.protocol,
          address: Buffer.from(mapperSocket),
          state: 'ok',
        },
      },
      (err) => (err ? reject(new Error(`MapperRegister: ${err.message}`)) : resolve()),
    ),
  );
  registrar.close();

  const lastSent = new Map<string, number>();
  const lastAnswered = new Map<string, number>();
  interface Phase {
    start: number;
    sent: number;
    outstanding: number;
    errors: number;
    sending: boolean;
    latencies: number[];
    lastAnswer: number;
  }

  const send = (k: number, p: Phase) => {
    const n = p.sent++;
    const dev = Math.floor(n / cfg.mappers) % cfg.devicesPerMapper;
    const sent = nextTwins(lastSent, `m${k}/dev-${dev}`, cfg.props, n, cfg.twinsPerReport ?? 1);
    const t = performance.now();
    p.outstanding++;
    const timestamp = String(Date.now());
    const req = {
      deviceName: `dev-${dev}`,
      deviceNamespace: `m${k}`,
      reportedDevice: {
        twins: sent.map(({ prop, value }) => ({
          propertyName: prop,
          reported: { value: String(value), metadata: { timestamp } },
        })),
      },
    };
    call(k, 'ReportDeviceStatus', req, (err) => {
      const now = performance.now();
      p.outstanding--;
      if (err) p.errors++;
      else recordAnswered(lastAnswered, sent);
      p.latencies.push(now - t);
      p.lastAnswer = now;
      if (cfg.window > 0 && p.sending) send(k, p);
    });
  };

  const run = async (seconds: number): Promise<LoadResult> => {
    const start = performance.now();
    const p: Phase = { start, sent: 0, outstanding: 0, errors: 0, sending: true, latencies: [], lastAnswer: start };
    const cpu0 = process.cpuUsage();
    await offer(cfg, p, seconds, (k) => send(k, p));
    p.sending = false;
    const stoppedAt = performance.now();
    let answerAgainMs: number | undefined;
    if (cfg.probe) {
      // A fresh call from a new connection (the load's own may still hold a backlog of calls),
      // every 50 ms until one is answered, timed from the end of sending. It reports the device's
      // state, not a value: a value would replace the last one the load had answered for it.
      const probe = { deviceName: 'dev-0', deviceNamespace: 'm0', state: 'online' };
      const prober = dmiCallers(pkg, { ...cfg, mappers: 1, deadlineMs: 1000 });
      try {
        while (answerAgainMs === undefined && performance.now() - stoppedAt < 120_000) {
          const answered = await new Promise<boolean>((resolve) =>
            prober.call(0, 'ReportDeviceStates', probe, (err) => resolve(!err)),
          );
          if (answered) answerAgainMs = performance.now() - stoppedAt;
          else await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        prober.close();
      }
    }
    const drainUntil = performance.now() + (cfg.drainSeconds ?? 15) * 1000;
    while (p.outstanding > 0 && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 50));
    const cpu = process.cpuUsage(cpu0);
    p.latencies.sort((a, b) => a - b);
    return {
      sent: p.sent,
      answered: p.latencies.length, // error answers included, as twin-load.ts counts them
      errors: p.errors,
      lost: p.outstanding,
      seconds: (stoppedAt - p.start) / 1000,
      untilLastAnswer: (p.lastAnswer - p.start) / 1000,
      p50: percentile(p.latencies, 50),
      p99: percentile(p.latencies, 99),
      max: p.latencies[p.latencies.length - 1] ?? NaN,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      ...(answerAgainMs === undefined ? {} : { answerAgainMs }),
      lastAnswered: Object.fromEntries(lastAnswered),
    };
  };

  try {
    const warmup = cfg.warmupSeconds ?? 0;
    if (warmup > 0) await run(warmup);
    onMeasuring?.();
    return await run(cfg.seconds);
  } finally {
    close();
    await new Promise<void>((resolve) => mapperServer.tryShutdown(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
}
