/**
 * Classifies an edge broker topic for access checks: which EdgeTwin topic family it belongs to
 * and which device or node it names. Anything else is `other`.
 */
import { DEFAULT_NAMESPACE, PAIRING_COMMANDS, PAIRING_OUTPUTS } from '@edgetwin/sdk';

export type HwDeviceTail =
  | 'twin/update'
  | 'twin/get'
  | 'state/update'
  | 'twin/update/result'
  | 'twin/update/document'
  | 'twin/update/delta'
  | 'twin/get/result'
  | 'state/update/result';

/** Tails a client publishes to ask edgecore something; the others are edgecore's answers and events. */
export const HW_REQUEST_TAILS: readonly HwDeviceTail[] = ['twin/update', 'twin/get', 'state/update'];
export const HW_ANSWER_TAILS: readonly HwDeviceTail[] = [
  'twin/update/result',
  'twin/update/document',
  'twin/update/delta',
  'twin/get/result',
  'state/update/result',
];
const TAILS = [...HW_ANSWER_TAILS, ...HW_REQUEST_TAILS].map((t) => ({ tail: t, parts: t.split('/') }));

export type TopicKind =
  | { kind: 'hw-device'; device: string; tail: HwDeviceTail; request: boolean }
  | { kind: 'hw-node'; node: string; tail: string; request: boolean }
  | { kind: 'spec'; node: string; device: string }
  /** `edgetwin/v1/nodes/{node}/{protocol}/...`: a mapper's own topics (ZigBee pairing, for example). */
  | { kind: 'mapper-topic'; node: string; protocol: string; use: MapperTopicUse }
  | { kind: 'data'; device: string; set: boolean }
  /** `apps/...`: free for edge apps and admins (their own messages). */
  | { kind: 'apps' }
  | { kind: 'reserved' }
  | { kind: 'other' };

/**
 * What a topic of a mapper's own family is for: a pairing `command` (edgecore's alone), a pairing
 * `output` (the mapper's alone), `other` in a family with a pairing contract (nobody publishes
 * it), or `free` in a family without one (the mapper's and admins' own messages).
 */
export type MapperTopicUse = 'command' | 'output' | 'other' | 'free';

export function mapperTopicUse(protocol: string, tail: string): MapperTopicUse {
  const commands = Object.hasOwn(PAIRING_COMMANDS, protocol) ? PAIRING_COMMANDS[protocol] : undefined;
  const outputs = Object.hasOwn(PAIRING_OUTPUTS, protocol) ? PAIRING_OUTPUTS[protocol] : undefined;
  if (!commands && !outputs) return 'free';
  if (commands?.includes(tail)) return 'command';
  if (outputs?.includes(tail)) return 'output';
  return 'other';
}

export function classifyTopic(topic: string, dataTopicBase: string): TopicKind {
  const p = topic.split('/');
  if (p[0] === '$hw') {
    if (p[1] === 'events' && p[2] === 'device') {
      const rest = p.slice(3);
      for (const { tail, parts } of TAILS) {
        const idLen = rest.length - parts.length;
        if ((idLen !== 1 && idLen !== 2) || parts.some((s, i) => rest[idLen + i] !== s)) continue;
        const device = idLen === 2 ? `${rest[0]}/${rest[1]}` : `${DEFAULT_NAMESPACE}/${rest[0]}`;
        return { kind: 'hw-device', device, tail, request: HW_REQUEST_TAILS.includes(tail) };
      }
    }
    if (p[1] === 'events' && p[2] === 'node' && p.length >= 5 && p[3]) {
      const tail = p.slice(4).join('/');
      return { kind: 'hw-node', node: p[3], tail, request: tail === 'membership/get' };
    }
    return { kind: 'reserved' };
  }
  if (p[0] === 'edgetwin') {
    if (p.length === 7 && p[1] === 'v1' && p[2] === 'nodes' && p[4] === 'devices')
      return { kind: 'spec', node: p[3]!, device: `${p[5]}/${p[6]}` };
    if (p.length >= 6 && p[1] === 'v1' && p[2] === 'nodes' && p[4] !== 'devices' && p[3] && p[4])
      return { kind: 'mapper-topic', node: p[3], protocol: p[4], use: mapperTopicUse(p[4], p.slice(5).join('/')) };
    return { kind: 'reserved' };
  }
  if (p[0] === '$SYS') return { kind: 'reserved' };
  if (p[0] === 'apps' && p.length > 1) return { kind: 'apps' };
  const base = dataTopicBase.split('/');
  if (base.every((s, i) => p[i] === s)) {
    const rest = p.slice(base.length);
    if (rest.length >= 3 && rest.length <= 4) {
      const set = rest.length === 4 && rest[3] === 'set';
      if (rest.length === 3 || set) return { kind: 'data', device: `${rest[0]}/${rest[1]}`, set };
    }
    return { kind: 'reserved' };
  }
  return { kind: 'other' };
}

/** `namespace/name` patterns with `*` wildcards, compiled once. */
export function devicePatterns(patterns: readonly string[] | undefined): (device: string) => boolean {
  if (!patterns || patterns.length === 0) return () => false;
  const res = patterns.map(
    (pat) =>
      new RegExp(
        `^${pat
          .split('*')
          .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('[^/]*')}$`,
      ),
  );
  return (device) => res.some((r) => r.test(device));
}
