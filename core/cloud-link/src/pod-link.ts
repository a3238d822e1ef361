/**
 * Pod and Node messages of the cloud/edge link (route group `pod`), shared by cloudcore's pod
 * relay and the edge's. The cloud always sends a node's FULL pod set, so every message is
 * idempotent and a reconnect needs no bookkeeping: the edge applies it with `replace: true`.
 */
import { arch, cpus, hostname, platform, release, totalmem } from 'node:os';
import type { PodStatus } from '@edgetwin/agent';

/** cloud -> edge (`pods`): every pod bound to the node, and the ConfigMaps their volumes read. */
export interface PodsContent {
  pods: unknown[];
  configMaps: unknown[];
}

/** One pod's latest status (or its final removal) as the edge reports it. */
export interface PodStatusEntry {
  /** `{namespace}/{name}` */
  key: string;
  /** The pod's uid, so a status never lands on a newer pod of the same name. */
  uid?: string;
  seq: number;
  status?: PodStatus | RejectedStatus;
  /** The edge removed the pod's containers (after a deletion requested by Kubernetes). */
  deleted?: boolean;
}

/** Status of a pod the edge refused to run. */
export interface RejectedStatus {
  phase: 'Failed';
  reason: string;
  message: string;
}

/** edge -> cloud (`podStatus`); the cloud answers `ack` with the `{key, seq}` Kubernetes holds. */
export interface PodStatusContent {
  entries: PodStatusEntry[];
}

export interface PodAckContent {
  done: Array<{ key: string; seq: number }>;
}

/** edge -> cloud (`nodeInfo`) after connecting: what the Node object shows. */
export interface NodeInfoContent {
  capacity: { cpu: string; memory: string; pods: string };
  addresses: Array<{ type: 'InternalIP' | 'Hostname'; address: string }>;
  nodeInfo: {
    architecture: string;
    operatingSystem: string;
    kernelVersion: string;
    kubeletVersion: string;
    osImage: string;
  };
}

export const POD_GROUP = 'pod';
export const DEFAULT_MAX_PODS = 110;

/** This machine's Node capacity and addresses (cpu count, memory in Ki, max pods). */
export function localNodeInfo(nodeIP: string, maxPods = DEFAULT_MAX_PODS, version = '0.1.0'): NodeInfoContent {
  const goArch: Record<string, string> = { x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64' };
  return {
    capacity: {
      cpu: String(cpus().length),
      memory: `${Math.floor(totalmem() / 1024)}Ki`,
      pods: String(maxPods),
    },
    addresses: [
      { type: 'InternalIP', address: nodeIP },
      { type: 'Hostname', address: hostname() },
    ],
    nodeInfo: {
      architecture: goArch[arch()] ?? arch(),
      operatingSystem: platform(),
      kernelVersion: release(),
      kubeletVersion: `edgetwin/${version}`,
      osImage: `Node.js ${process.version}`,
    },
  };
}
