/**
 * Which devices this mapper serves. edgecore publishes one RETAINED message per device of the node
 * on `specTopics.device(node, device)` with `{device, model}`; an empty payload removes the device.
 * The registry keeps the specs of this mapper's protocol and says what changed. Membership
 * (`$hw/events/node/{node}/membership/updated`) can take a device out of service and back in.
 */
import { Type } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { EdgeTwinError, errorMessage } from '../errors.js';
import { DeviceModelSchema, DeviceSchema } from '../schema/resources.js';
import { parseWithSchema } from '../schema/validate.js';
import { deviceId, specTopics } from '../hw/topics.js';
import type { MapperSpecMessage } from './types.js';

export const MapperSpecMessageSchema = Type.Object({ device: DeviceSchema, model: DeviceModelSchema });

export type SpecEvent =
  | { kind: 'upsert'; id: string; spec: MapperSpecMessage }
  | { kind: 'remove'; id: string }
  | { kind: 'invalid'; id: string; error: EdgeTwinError };

interface Entry {
  /** What a restart depends on: names and specs, not status or resourceVersion. */
  key: string;
  spec: MapperSpecMessage;
}

export class SpecRegistry {
  private readonly specs = new Map<string, Entry>();
  private readonly excluded = new Set<string>();

  constructor(
    private readonly protocol: string,
    private readonly nodeName: string,
    private readonly emit: (e: SpecEvent) => void,
    private readonly logger: Logger,
  ) {}

  /** Handles one message on `specTopics.filter(node)`. */
  handle(topic: string, payload: Buffer): void {
    const where = specTopics.parse(topic);
    if (!where || where.node !== this.nodeName) return;
    const id = deviceId(where.device);
    const text = payload.toString('utf8');
    if (text.trim() === '') {
      this.drop(id);
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      this.invalid(
        id,
        raw,
        new EdgeTwinError('ET_SCHEMA', `spec of device ${id} on ${topic} is not JSON: ${errorMessage(err)}`),
      );
      return;
    }
    let spec: MapperSpecMessage;
    try {
      spec = parseWithSchema(MapperSpecMessageSchema, raw, `spec of device ${id} on ${topic}`);
    } catch (err) {
      this.invalid(id, raw, err as EdgeTwinError);
      return;
    }
    if (protocolOf(spec) !== this.protocol) {
      this.drop(id); // not ours (any more)
      return;
    }
    const key = JSON.stringify([
      spec.device.metadata.name,
      spec.device.metadata.namespace,
      spec.device.spec,
      spec.model.spec,
    ]);
    const before = this.specs.get(id);
    this.specs.set(id, { key, spec });
    if (before?.key === key || this.excluded.has(id)) return;
    this.emit({ kind: 'upsert', id, spec });
  }

  /** Membership says the device left the node: stop serving it until it is added again. */
  exclude(id: string): void {
    if (this.excluded.has(id)) return;
    this.excluded.add(id);
    if (this.specs.has(id)) this.emit({ kind: 'remove', id });
  }

  include(id: string): void {
    if (!this.excluded.delete(id)) return;
    const e = this.specs.get(id);
    if (e) this.emit({ kind: 'upsert', id, spec: e.spec });
  }

  ids(): string[] {
    return [...this.specs.keys()].filter((id) => !this.excluded.has(id));
  }

  private drop(id: string): void {
    if (!this.specs.delete(id)) return;
    if (!this.excluded.has(id)) this.emit({ kind: 'remove', id });
  }

  private invalid(id: string, raw: unknown, error: EdgeTwinError): void {
    const claimed = claimedProtocol(raw);
    if (claimed !== undefined && claimed !== this.protocol) return; // someone else's broken spec
    this.specs.delete(id);
    this.logger.error({ device: id, err: error.message }, error.message);
    this.emit({ kind: 'invalid', id, error });
  }
}

export function protocolOf(spec: MapperSpecMessage): string | undefined {
  return spec.device.spec.protocol?.protocolName ?? spec.model.spec.protocol;
}

function claimedProtocol(raw: unknown): string | undefined {
  const r = raw as {
    device?: { spec?: { protocol?: { protocolName?: unknown } } };
    model?: { spec?: { protocol?: unknown } };
  };
  const p = r?.device?.spec?.protocol?.protocolName ?? r?.model?.spec?.protocol;
  return typeof p === 'string' ? p : undefined;
}
