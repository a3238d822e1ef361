/**
 * Messages of the cloud/edge link (ARCHITECTURE.md "Cloud/edge link"): JSON envelopes close to
 * KubeEdge's `{header, route, content}`. Shared by the cloud hub (core) and the edge sync here.
 */
import { randomUUID } from 'node:crypto';

export interface Envelope<C = unknown> {
  header: { id: string; parentId?: string; timestamp: number; resourceVersion?: string };
  route: {
    source: 'cloud' | 'edge';
    group: 'hub' | 'resource' | 'twin' | 'pod';
    operation: Operation;
    resource: string;
  };
  content: C;
}

export type Operation =
  | 'hello'
  | 'sync'
  | 'ack'
  | 'upstream'
  | 'heartbeat'
  /** Group `pod` (core's pod relay): cloud -> edge the node's full pod set, edge -> cloud pod status and node info. */
  | 'pods'
  | 'podStatus'
  | 'nodeInfo';

/** `Device/{ns}/{name}` or `DeviceModel/{ns}/{name}` */
export type ResourceKey = string;

/** edge -> cloud after connecting: what the edge holds, by resourceVersion. */
export interface HelloContent {
  holds: Record<ResourceKey, string>;
}

/** cloud -> edge: objects to store (with their resourceVersion) and keys to drop. */
export interface SyncContent {
  upserts: Array<{ key: ResourceKey; resourceVersion: string; object: unknown }>;
  deletes: ResourceKey[];
  /** The first sync after hello: the edge holds everything the cloud has for it. */
  initial?: boolean;
}

export type OutboxEntry =
  | {
      kind: 'reported';
      device: string;
      property: string;
      value: string;
      updatedAt: number;
      quality?: string;
      observedDesired?: string;
    }
  | { kind: 'state'; device: string; state: string; lastOnline?: number }
  | { kind: 'desired'; device: string; property: string; value: string; source?: 'http' | 'mqtt' };

/** edge -> cloud: outbox entries, each with the key and sequence number the ack names. */
export interface UpstreamContent {
  entries: Array<{ key: string; seq: number; entry: OutboxEntry }>;
}

/** cloud -> edge: the upstream entries now held by Kubernetes. */
export interface AckContent {
  done?: Array<{ key: string; seq: number }>;
}

export interface HeartbeatContent {
  devices: number;
}

export function envelope<C>(
  source: 'cloud' | 'edge',
  group: Envelope['route']['group'],
  operation: Operation,
  resource: string,
  content: C,
  parentId?: string,
): Envelope<C> {
  const header: Envelope['header'] = { id: randomUUID(), timestamp: Date.now() };
  if (parentId !== undefined) header.parentId = parentId;
  return { header, route: { source, group, operation, resource }, content };
}

/** Parses one frame; undefined when it is not an envelope. */
export function parseEnvelope(data: string): Envelope | undefined {
  try {
    const e = JSON.parse(data) as Partial<Envelope>;
    if (typeof e.header?.id !== 'string' || typeof e.route?.operation !== 'string') return undefined;
    return e as Envelope;
  } catch {
    return undefined;
  }
}

export function deviceKey(id: string): ResourceKey {
  return `Device/${id}`;
}
export function modelResourceKey(ns: string, name: string): ResourceKey {
  return `DeviceModel/${ns}/${name}`;
}
