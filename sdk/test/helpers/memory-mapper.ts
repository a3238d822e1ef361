/**
 * A tiny in-memory protocol for the runtime's own tests: a `MemoryDevice` is a real object holding
 * values by key; the "memory" mapper's driver talks to it through a registry, like a network would.
 */
import { Type } from '@sinclair/typebox';
import {
  API_VERSION,
  EdgeTwinError,
  type Device,
  type DeviceModel,
  type ModelProperty,
  type TwinValue,
} from '@edgetwin/sdk';
import { defineMapper, type Reading, type SessionHooks } from '@edgetwin/sdk/mapper';
import { type Clock } from '@edgetwin/sdk/util';

export class MemoryDevice {
  readonly values = new Map<string, TwinValue>();
  /** Keys whose reads fail with a protocol error. */
  readonly failing = new Set<string>();
  /** Keys whose reads never answer (until the caller gives up). */
  readonly hanging = new Set<string>();
  /** Keys the device pushes instead of being polled. */
  readonly pushes = new Set<string>();
  /** Connect attempts to fail before one succeeds. */
  failConnects = 0;
  /** Clock times of connect attempts. */
  readonly connectAttempts: number[] = [];
  /** Property names of every read call, one array per call. */
  readonly readCalls: string[][] = [];
  readonly writes: { key: string; value: TwinValue }[] = [];
  openSessions = 0;
  private hooks: SessionHooks | undefined;

  constructor(values: Record<string, TwinValue> = {}) {
    for (const [k, v] of Object.entries(values)) this.values.set(k, v);
  }

  /** Changes a value; a pushed key notifies the connected session. */
  set(key: string, value: TwinValue, quality?: string): void {
    this.values.set(key, value);
    if (this.pushes.has(key)) this.hooks?.onReading(key, quality === undefined ? { value } : { value, quality });
  }

  /** Drops the connection, as a device power cycle would. */
  drop(): void {
    this.hooks?.onLost(new EdgeTwinError('ET_UNAVAILABLE', 'memory device dropped the connection'));
  }

  attach(hooks: SessionHooks | undefined): void {
    this.hooks = hooks;
  }
}

export function memoryMapper(devices: ReadonlyMap<string, MemoryDevice>, clock: () => Clock) {
  return defineMapper({
    protocol: 'memory',
    protocolConfigSchema: Type.Object({ device: Type.String({ minLength: 1 }) }),
    visitorConfigSchema: Type.Object({ key: Type.String({ minLength: 1 }), scale: Type.Optional(Type.Number()) }),
    defaults: { collectCycleMs: 1000 },
    createDriver: () => ({
      connect(device, hooks) {
        const d = devices.get(device.protocol.device);
        d?.connectAttempts.push(clock().now());
        if (!d)
          return Promise.reject(new EdgeTwinError('ET_UNAVAILABLE', `no memory device ${device.protocol.device}`));
        if (d.failConnects > 0) {
          d.failConnects--;
          return Promise.reject(
            new EdgeTwinError('ET_UNAVAILABLE', `memory device ${device.protocol.device} refused the connection`),
          );
        }
        d.attach(hooks);
        d.openSessions++;
        let open = true;
        return Promise.resolve({
          read(properties, signal) {
            d.readCalls.push(properties.map((p) => p.name));
            if (properties.some((p) => d.hanging.has(p.visitor.key))) {
              // A device that never answers; only the caller's signal ends the wait.
              return new Promise((_, reject) =>
                signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
              );
            }
            const out = new Map<string, Reading | Error>();
            for (const p of properties) {
              const v = d.values.get(p.visitor.key);
              if (d.failing.has(p.visitor.key))
                out.set(p.name, new EdgeTwinError('ET_PROTOCOL', `key ${p.visitor.key} is broken`));
              else if (v === undefined) out.set(p.name, new EdgeTwinError('ET_PROTOCOL', `no key ${p.visitor.key}`));
              else out.set(p.name, { value: v });
            }
            return Promise.resolve(out);
          },
          subscribe(properties) {
            return Promise.resolve(properties.filter((p) => !d.pushes.has(p.visitor.key)).map((p) => p.name));
          },
          write(p, value) {
            d.writes.push({ key: p.visitor.key, value });
            d.values.set(p.visitor.key, value);
            return Promise.resolve({ value });
          },
          close() {
            if (open) {
              open = false;
              d.openSessions--;
              d.attach(undefined);
            }
            return Promise.resolve();
          },
        });
      },
      stop: () => Promise.resolve(),
    }),
  });
}

export interface PropSpec {
  name: string;
  type?: ModelProperty['type'];
  accessMode?: 'ReadWrite' | 'ReadOnly';
  minimum?: number;
  maximum?: number;
  key?: string;
  collectCycle?: number;
  reportCycle?: number;
}

/** A Device and DeviceModel of protocol "memory" on `node`, reading `target`. */
export function memorySpec(
  name: string,
  target: string,
  node: string,
  props: PropSpec[],
): { device: Device; model: DeviceModel } {
  const model: DeviceModel = {
    apiVersion: API_VERSION,
    kind: 'DeviceModel',
    metadata: { name: `${name}-model`, namespace: 'default' },
    spec: {
      protocol: 'memory',
      properties: props.map((p) => ({
        name: p.name,
        type: p.type ?? 'INT',
        accessMode: p.accessMode ?? 'ReadWrite',
        ...(p.minimum === undefined ? {} : { minimum: p.minimum }),
        ...(p.maximum === undefined ? {} : { maximum: p.maximum }),
      })),
    },
  };
  const device: Device = {
    apiVersion: API_VERSION,
    kind: 'Device',
    metadata: { name, namespace: 'default' },
    spec: {
      deviceModelRef: { name: `${name}-model` },
      nodeName: node,
      protocol: { protocolName: 'memory', configData: { device: target } },
      properties: props.map((p) => ({
        name: p.name,
        visitors: { protocolName: 'memory', configData: { key: p.key ?? p.name } },
        ...(p.collectCycle === undefined ? {} : { collectCycle: p.collectCycle }),
        ...(p.reportCycle === undefined ? {} : { reportCycle: p.reportCycle }),
      })),
    },
  };
  return { device, model };
}
