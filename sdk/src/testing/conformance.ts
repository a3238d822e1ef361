/**
 * `mapperConformance(options)`: the abstract suite every mapper's tests run (like
 * aedes-persistence's). It starts a minimal edgecore DMI side (DmiSide: DeviceManagerService on a
 * unix socket) and the protocol's device simulator, runs the mapper with `runMapper` (which
 * registers over DMI) and checks what a user of the mapper would notice.
 * This file imports vitest; it is only reachable from '@edgetwin/sdk/testing', never from the main entry.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMapper, type MapperHandle } from '../mapper/runtime.js';
import type { MapperDefinition } from '../mapper/types.js';
import type { ConfigData, Device, DeviceModel } from '../schema/resources.js';
import type { DeviceRef } from '../hw/topics.js';
import { formatValue, valuesEqual, type TwinValue } from '../schema/values.js';
import { TrackingClock } from './clocks.js';
import { captureLogs, type CapturedLogs } from './logs.js';
import { DmiSide } from './dmi-side.js';
import { waitFor } from './ports.js';

/** What `startDevice` returns: a running device (simulator or real peer) and the specs pointing at it. */
export interface ConformanceDevice {
  device: Device;
  model: DeviceModel;
  /** A ReadWrite property and two different values the suite writes one after the other. */
  writable: { property: string; values: readonly [TwinValue, TwinValue] };
  /** A ReadOnly property and a value the suite tries (and must fail) to set. */
  readOnly: { property: string; value: TwinValue };
  /** A property and the value the device reports before anything is written, when known. */
  known?: { property: string; value: TwinValue };
  /** A property whose value changes by itself; the suite waits for two different reports. */
  changing?: string;
  /** A visitor configData for `property` that the mapper's schema rejects, and the field it must name. */
  invalidVisitor: { property: string; configData: ConfigData; field: string };
  stop(): Promise<void>;
}

export interface MapperConformanceOptions<PS extends TSchema, VS extends TSchema> {
  definition: MapperDefinition<PS, VS>;
  startDevice(): Promise<ConformanceDevice>;
  /** Per-condition wait, default 20 000 ms (the machine may be loaded). */
  timeoutMs?: number;
}

const NODE = 'conformance-node';

export function mapperConformance<PS extends TSchema, VS extends TSchema>(
  opts: MapperConformanceOptions<PS, VS>,
): void {
  const { definition } = opts;
  const wait = opts.timeoutMs ?? 20_000;
  describe(`mapper conformance: ${definition.protocol}`, () => {
    let twin: DmiSide | undefined;
    let fixture: ConformanceDevice | undefined;
    let handle: MapperHandle | undefined;
    let logs: CapturedLogs;
    let clock: TrackingClock;
    let dataDir: string;
    let good: DeviceRef;
    let broken: DeviceRef;
    let socketsBefore = 0;

    beforeAll(async () => {
      twin = await DmiSide.start({ nodeName: NODE });
      fixture = await opts.startDevice();
      const device = structuredClone(fixture.device);
      device.spec.nodeName = NODE;
      good = { namespace: device.metadata.namespace ?? 'default', name: device.metadata.name };
      broken = { namespace: good.namespace, name: `${good.name}-broken` };
      const bad = structuredClone(device);
      bad.metadata.name = broken.name;
      const prop = bad.spec.properties.find((p) => p.name === fixture!.invalidVisitor.property);
      if (!prop)
        throw new Error(`invalidVisitor.property ${fixture.invalidVisitor.property} is not a property of the device`);
      prop.visitors = { ...prop.visitors, configData: fixture.invalidVisitor.configData };
      await twin.publishSpec(device, fixture.model);
      await twin.publishSpec(bad, fixture.model);
      socketsBefore = countSockets();
      logs = captureLogs('debug');
      clock = new TrackingClock();
      dataDir = mkdtempSync(join(tmpdir(), `edgetwin-conformance-${definition.protocol}-`));
      handle = await runMapper(definition, {
        dmiSocket: twin.socketPath,
        nodeName: NODE,
        dataDir,
        logger: logs.logger,
        clock,
        backoff: { initialMs: 200, maxMs: 2000 },
        callTimeoutMs: 5000,
      });
    }, 90_000);

    afterAll(async () => {
      await handle?.stop();
      await twin?.stop();
      await fixture?.stop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }, 60_000);

    const prop = (name: string) => fixture!.model.spec.properties.find((p) => p.name === name)!;
    const reportedEquals = (name: string, value: TwinValue) => {
      const r = twin!.reported(good, name);
      return r !== undefined && valuesEqual(prop(name).type, r, value);
    };

    it(
      'reports a value for every property of the device over DMI, and again when it changes',
      async () => {
        const names = fixture!.device.spec.properties.map((p) => p.name);
        await waitFor(
          () => names.every((n) => twin!.reported(good, n) !== undefined),
          wait,
          `reports of ${names.join(', ')}`,
        );
        if (fixture!.known) {
          const { property, value } = fixture!.known;
          expect(twin!.reported(good, property), `known value of ${property}`).toSatisfy((v: string) =>
            valuesEqual(prop(property).type, v, value),
          );
        }
        const changing = fixture!.changing;
        if (changing !== undefined) {
          const seen = () =>
            new Set(twin!.updates(good).flatMap((u) => (u[changing] === undefined ? [] : [u[changing]])));
          await waitFor(() => seen().size >= 2, wait, `two different reports of ${changing}`);
        }
        expect(twin!.rejected.filter((r) => r.device.endsWith(`/${good.name}`))).toEqual([]);
      },
      wait * 2 + 10_000,
    );

    it(
      'reports the device online',
      async () => {
        await waitFor(() => twin!.states(good).includes('online'), wait, `state online of ${good.name}`);
        expect(handle!.devices().find((d) => d.id === `${good.namespace}/${good.name}`)?.state).toBe('online');
      },
      wait + 10_000,
    );

    it(
      'writes a desired value of a ReadWrite property and reports the value read back',
      async () => {
        const { property, values } = fixture!.writable;
        await twin!.setDesired(good, property, formatValue(values[0]));
        await waitFor(
          () => reportedEquals(property, values[0]),
          wait,
          `${property} reported as ${formatValue(values[0])}`,
        );
        expect(logs.find(`wrote ${property}=`, `${good.namespace}/${good.name}`).length).toBeGreaterThan(0);
      },
      wait + 10_000,
    );

    it(
      'refuses a desired value for a ReadOnly property with a clear log and an unhealthy note',
      async () => {
        const { property, value } = fixture!.readOnly;
        const statesBefore = twin!.states(good).length;
        await twin!.setDesired(good, property, formatValue(value));
        const refusal = await waitFor(
          () =>
            logs.find('refused desired value', `${good.namespace}/${good.name}`, `property ${property}`, 'ReadOnly')[0],
          wait,
          `a log line refusing ${property}`,
        );
        expect(refusal.level).toBeGreaterThanOrEqual(40); // warn or worse
        await waitFor(
          () => twin!.states(good).slice(statesBefore).includes('unhealthy'),
          wait,
          'state unhealthy after the refusal',
        );
        twin!.clearDesired(good, property);
      },
      wait + 10_000,
    );

    it(
      'an invalid configData names device, property and field, marks it unhealthy, and the other device keeps working',
      async () => {
        const { property, field } = fixture!.invalidVisitor;
        const id = `${broken.namespace}/${broken.name}`;
        const line = await waitFor(
          () => logs.find(id, `property ${property}`, field).find((r) => r.level >= 50),
          wait,
          `an error naming ${id}`,
        );
        expect(line.msg).toContain('visitor configData');
        await waitFor(() => twin!.states(broken).includes('unhealthy'), wait, `state unhealthy of ${id}`);
        expect(handle!.devices().find((d) => d.id === id)).toMatchObject({
          state: 'invalid',
          error: expect.stringContaining(field) as unknown,
        });
        const { property: w, values } = fixture!.writable;
        await twin!.setDesired(good, w, formatValue(values[1]));
        await waitFor(
          () => reportedEquals(w, values[1]),
          wait,
          `${w} reported as ${formatValue(values[1])} on the good device`,
        );
      },
      wait * 2 + 10_000,
    );

    it(
      'stop() leaves no timers, sockets or subscriptions behind',
      async () => {
        const h = handle!;
        handle = undefined;
        await h.stop();
        expect(h.connected()).toBe(false);
        expect(clock.pending, 'timers left on the clock').toBe(0);
        await waitFor(() => twin!.lastState(good) === 'offline', wait, 'state offline after stop');
        await waitFor(() => countSockets() <= socketsBefore, wait, 'the mapper sockets to close');
      },
      wait * 2 + 10_000,
    );
  });
}

/** Open TCP and unix sockets (the DMI channel and the device connections). */
function countSockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'PipeWrap').length;
}
