/**
 * The mapper runtime's DMI token (the one edgecore makes for each mapper process it starts): the
 * mapper sends it on every call to edgecore, and its own socket refuses calls without it, with
 * UNAUTHENTICATED, and never acts on them: a forged RegisterDevice naming another device makes no
 * connection there. A mapper started by hand without a token takes calls as before. The forged
 * calls come from @grpc/grpc-js with the proto, an independent client.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { modelKey, resolveDevice } from '@edgetwin/sdk';
import { Status, loadDmi, newDmiToken, toPbDevice, toPbModel, unary } from '@edgetwin/sdk/dmi';
import { parseMapperArgs, runMapper, type MapperHandle } from '@edgetwin/sdk/mapper';
import { DmiSide, captureLogs, waitFor } from '@edgetwin/sdk/testing';
import { systemClock } from '@edgetwin/sdk/util';
import type * as Grpc from '@grpc/grpc-js';
import { MemoryDevice, memoryMapper, memorySpec } from './helpers/memory-mapper.js';

const T = 20_000;

/** A Device and its model as DMI messages, naming the memory device `target`. */
function forged(name: string, target: string, node: string) {
  const { device, model } = memorySpec(name, target, node, [{ name: 'v', collectCycle: 100 }]);
  const resolved = resolveDevice(device, new Map([[modelKey('default', model.metadata.name), model]]));
  return { device: toPbDevice(resolved, {}), model: toPbModel(model) };
}

describe('a mapper started with a DMI token', () => {
  let side: DmiSide | undefined;
  let handle: MapperHandle | undefined;
  let client: Grpc.Client | undefined;

  afterEach(async () => {
    client?.close();
    await handle?.stop();
    handle = undefined;
    await side?.stop();
    side = undefined;
  });

  async function start(token: string | undefined, devices: Map<string, MemoryDevice>) {
    const nodeName = 'tok-1';
    side = await DmiSide.start({ nodeName, ...(token === undefined ? {} : { token }) });
    handle = await runMapper(
      memoryMapper(devices, () => systemClock),
      {
        dmiSocket: side.socketPath,
        nodeName,
        logger: captureLogs().logger,
        dmiBackoff: { initialMs: 100, maxMs: 500 },
        ...(token === undefined ? {} : { dmiToken: token }),
      },
    );
    const { grpc, Mapper } = loadDmi();
    client = new Mapper(`unix:${handle.mapperSocket}`, grpc.credentials.createInsecure());
    await waitFor(() => side!.registrations > 0, T, 'the mapper to register');
    return { side, nodeName, client };
  }

  it('sends its token on every call to edgecore and serves the devices edgecore sends with it', async () => {
    const token = newDmiToken();
    const meter = new MemoryDevice({ v: 7 });
    const { side, nodeName } = await start(token, new Map([['meter', meter]]));
    const spec = memorySpec('meter', 'meter', nodeName, [{ name: 'v', collectCycle: 100 }]);
    await side.publishSpec(spec.device, spec.model);
    await waitFor(() => side.reported({ namespace: 'default', name: 'meter' }, 'v') === '7', T, 'the reading');
    expect(side.tokensSeen.length).toBeGreaterThan(1); // MapperRegister and reports
    expect(new Set(side.tokensSeen)).toEqual(new Set([token]));
  });

  it('refuses a forged RegisterDevice without the token, or with a wrong one, and never connects to what it names', async () => {
    const token = newDmiToken();
    const evil = new MemoryDevice({ v: 666 });
    const { nodeName, client } = await start(token, new Map([['evil', evil]]));
    const { device, model } = forged('pump', 'evil', nodeName);
    for (const wrong of [undefined, newDmiToken(), `${token}x`]) {
      await expect(unary(client, 'CreateDeviceModel', { model }, 5000, wrong)).rejects.toMatchObject({
        code: Status.UNAUTHENTICATED,
      });
      await expect(unary(client, 'RegisterDevice', { device }, 5000, wrong)).rejects.toMatchObject({
        code: Status.UNAUTHENTICATED,
      });
      await expect(unary(client, 'UpdateDevice', { device }, 5000, wrong)).rejects.toMatchObject({
        code: Status.UNAUTHENTICATED,
      });
    }
    // The mapper holds no such device (asked with the right token), and opened no session to it.
    await expect(
      unary(client, 'GetDevice', { deviceName: 'pump', deviceNamespace: 'default' }, 5000, token),
    ).rejects.toMatchObject({ code: Status.NOT_FOUND });
    expect(handle!.devices()).toEqual([]);
    expect(evil.connectAttempts).toEqual([]);
  });

  it('a mapper started by hand without a token takes calls without one, as before', async () => {
    const plain = new MemoryDevice({ v: 3 });
    const { nodeName, client, side } = await start(undefined, new Map([['plain', plain]]));
    const { device, model } = forged('gauge', 'plain', nodeName);
    await unary(client, 'CreateDeviceModel', { model }, 5000);
    await unary(client, 'RegisterDevice', { device }, 5000);
    await waitFor(() => plain.connectAttempts.length > 0, T, 'a session to the registered device');
    expect(new Set(side.tokensSeen)).toEqual(new Set(['']));
  });
});

describe('the DMI token on the mapper command line', () => {
  it('is read from the file --dmi-token-file or EDGETWIN_DMI_TOKEN_FILE names; an empty file is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgetwin-dmi-token-'));
    const file = join(dir, 'dmi-token');
    writeFileSync(file, 'abc_DEF-123\n', { mode: 0o600 });
    expect(parseMapperArgs('memory', ['--dmi-token-file', file], {})).toMatchObject({ dmiToken: 'abc_DEF-123' });
    expect(parseMapperArgs('memory', [], { EDGETWIN_DMI_TOKEN_FILE: file })).toMatchObject({ dmiToken: 'abc_DEF-123' });
    expect(parseMapperArgs('memory', [], {})).not.toHaveProperty('dmiToken');
    writeFileSync(file, '\n');
    expect(() => parseMapperArgs('memory', ['--dmi-token-file', file], {})).toThrow(
      `--dmi-token-file ${file}: the file is empty`,
    );
  });
});
