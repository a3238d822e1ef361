/**
 * What an authenticated MQTT identity may publish and receive on the edge broker (the embedded
 * broker asks this for every PUBLISH and every delivery; `mosquitto-files.ts` writes the same
 * policy as a Mosquitto `acl_file`). Pure: the devices come from a lookup edgecore provides.
 *
 * The point: only edgecore publishes what changes a mapper's devices (the deltas that carry desired
 * values; the specs travel over DMI, and the spec topics of versions before DMI are edgecore's
 * alone) and what apps trust (data values, states, results); a mapper reports only for its own
 * protocol's devices on this node and hears only about them.
 */
import type { Identity } from './identities.js';
import { classifyTopic, devicePatterns, type TopicKind } from './topic-kinds.js';

export interface PolicyContext {
  nodeName: string;
  dataTopicBase: string;
  /** The protocol of one of this node's devices (`namespace/name`), undefined when there is no such device. */
  protocolOf(device: string): string | undefined;
}

/** What a delivery check decides. */
export type ForwardDecision = 'deliver' | 'drop';

export class MqttPolicy {
  private readonly canRead: (device: string) => boolean;
  private readonly canSet: (device: string) => boolean;

  constructor(
    readonly identity: Identity,
    private readonly ctx: PolicyContext,
  ) {
    const admin = identity.role === 'admin';
    this.canRead = admin ? () => true : devicePatterns(identity.read);
    this.canSet = admin ? () => true : devicePatterns(identity.set);
  }

  private ownsDevice(device: string): boolean {
    const p = this.identity.protocol;
    return p !== undefined && this.ctx.protocolOf(device) === p;
  }

  private ownsMapperTopic(node: string, protocol: string): boolean {
    return this.identity.role === 'mapper' && node === this.ctx.nodeName && protocol === this.identity.protocol;
  }

  private kind(topic: string): TopicKind {
    return classifyTopic(topic, this.ctx.dataTopicBase);
  }

  /** May this identity publish on `topic`? */
  mayPublish(topic: string): boolean {
    const { role } = this.identity;
    if (role === 'edgecore') return !topic.startsWith('$SYS');
    const t = this.kind(topic);
    switch (t.kind) {
      case 'hw-device':
        if (!t.request) return false; // results, documents, deltas: edgecore's alone
        if (role === 'mapper') return this.ownsDevice(t.device);
        // Apps: KubeEdge-era twin/get and twin/update ("expected" values) for the devices they may set.
        return (role === 'admin' || role === 'app') && this.canSet(t.device);
      case 'hw-node':
        return t.request && t.node === this.ctx.nodeName && role !== 'app';
      case 'data':
        return t.set && (role === 'app' || role === 'admin') && this.canSet(t.device);
      case 'mapper-topic':
        // Pairing commands are edgecore's alone (handled above); pairing outputs the mapper's alone.
        if (t.use === 'command' || t.use === 'other') return false;
        if (t.use === 'output') return this.ownsMapperTopic(t.node, t.protocol);
        return role === 'admin' || this.ownsMapperTopic(t.node, t.protocol);
      case 'apps':
        return role === 'admin' || role === 'app';
      default:
        return false; // specs, reserved families and topics outside EdgeTwin's
    }
  }

  /** Should a message on `topic` with `payload` reach this identity? */
  forward(topic: string): ForwardDecision {
    const { role } = this.identity;
    if (role === 'edgecore') return 'deliver';
    const t = this.kind(topic);
    switch (t.kind) {
      case 'spec':
        return 'drop'; // mappers get their specs over DMI; a spec topic is only ever a stale one edgecore clears
      case 'hw-device':
        return (role === 'mapper' ? this.ownsDevice(t.device) : this.canRead(t.device)) ? 'deliver' : 'drop';
      case 'hw-node':
        if (t.node !== this.ctx.nodeName) return role === 'admin' ? 'deliver' : 'drop';
        return role === 'mapper' || role === 'admin' || (this.identity.read?.length ?? 0) > 0 ? 'deliver' : 'drop';
      case 'data':
        return role !== 'mapper' && this.canRead(t.device) ? 'deliver' : 'drop';
      case 'mapper-topic':
        return role === 'admin' || this.ownsMapperTopic(t.node, t.protocol) ? 'deliver' : 'drop';
      case 'apps':
        return role === 'admin' || role === 'app' ? 'deliver' : 'drop';
      default:
        return 'drop';
    }
  }
}
