/**
 * edgecore serves DMI (and calls mappers) with the sdk's gRPC over node:http2: the edgecore process
 * never loads @grpc/grpc-js, @grpc/proto-loader or protobufjs. The mapper here is grpc-js (the
 * independent peer); edgecore reports the CommonJS files it loaded when it exits.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDmi, unary, type PbDevice } from '@edgetwin/sdk/dmi';
import { waitFor } from '@edgetwin/sdk/testing';
import { startEdgecore, tempDir, type EdgecoreProcess } from './helpers/edgecore-process.js';

const REPORT_MODULES = fileURLToPath(new URL('../../../sdk/test/fixtures/report-loaded-modules.mjs', import.meta.url));
const SAMPLE = resolve(
  import.meta.dirname,
  '../../../examples/kubeedge-samples/kubeedge-examples/temperature-sensor-demo',
);

describe('edgecore over DMI', () => {
  let edge: EdgecoreProcess | undefined;
  let mapperServer: Grpc.Server | undefined;
  let manager: Grpc.Client | undefined;
  const registered: PbDevice[] = [];

  beforeAll(async () => {
    const devicesDir = tempDir('nogrpc-devices');
    const dataDir = tempDir('nogrpc-data');
    cpSync(SAMPLE, devicesDir, { recursive: true });
    const file = join(devicesDir, 'temperature-instance.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"kind-worker"', '"edge-1"'));
    edge = await startEdgecore({ devicesDir, dataDir, env: { NODE_OPTIONS: `--import ${REPORT_MODULES}` } });
    const { grpc, Manager, Mapper } = loadDmi();
    const own = join(tempDir('nogrpc-mapper'), 'mapper.sock');
    mapperServer = new grpc.Server();
    const ok =
      (fn: (req: { device?: PbDevice }) => object): Grpc.handleUnaryCall<{ device?: PbDevice }, object> =>
      (call, cb) =>
        cb(null, fn(call.request));
    mapperServer.addService(Mapper.service, {
      RegisterDevice: ok((req) => (registered.push(req.device!), {})),
      UpdateDevice: ok(() => ({})),
      RemoveDevice: ok(() => ({})),
      CreateDeviceModel: ok(() => ({})),
      UpdateDeviceModel: ok(() => ({})),
      RemoveDeviceModel: ok(() => ({})),
      GetDevice: ok(() => ({})),
    });
    await new Promise<void>((res, rej) =>
      mapperServer!.bindAsync(`unix:${own}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())),
    );
    manager = new Manager(`unix:${join(dataDir, 'dmi', 'dmi.sock')}`, grpc.credentials.createInsecure());
    // withData: false, so edgecore sends the devices itself (RegisterDevice): both directions are used.
    await unary(manager, 'MapperRegister', {
      withData: false,
      mapper: { name: 'm', version: '1', api_version: 'v1beta1', protocol: 'modbus', address: Buffer.from(own) },
    });
  });

  afterAll(async () => {
    manager?.close();
    mapperServer?.forceShutdown();
    await edge?.kill();
  });

  it('serves and calls mappers without loading @grpc/grpc-js, @grpc/proto-loader or protobufjs', async () => {
    await waitFor(() => registered.length > 0, 20_000, 'edgecore to send RegisterDevice');
    expect(registered[0]).toMatchObject({ name: 'temperature-instance', namespace: 'default' });
    await unary(manager!, 'ReportDeviceStatus', {
      deviceName: 'temperature-instance',
      deviceNamespace: 'default',
      reportedDevice: { twins: [{ propertyName: 'temperature', reported: { value: '21.5', metadata: {} } }] },
    });
    const logs = edge!.logs;
    const exit = await edge!.kill('SIGTERM');
    edge = undefined;
    expect(exit.code).toBe(0);
    const report = await waitFor(() => logs.find((l) => l.includes('LOADED_GRPC_MODULES')), 5000, 'the module report');
    expect(report.trim()).toBe('LOADED_GRPC_MODULES []');
  });
});
