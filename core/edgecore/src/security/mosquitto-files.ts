/**
 * The edge's MQTT policy for an external Mosquitto: a `password_file` (the same `$7$` hashes, so
 * Mosquitto checks the same passwords) and an `acl_file` granting each identity what
 * `MqttPolicy` grants it on the embedded broker. Mosquitto's ACLs name topics, not protocols, so
 * a mapper's and an app's entries are written per device: regenerate the files when devices
 * change and send Mosquitto SIGHUP (it rereads both). Expired identities are left out.
 */
import { hwTopics, PAIRING_OUTPUTS } from '@edgetwin/sdk';
import { isExpired, type Identity } from './identities.js';
import { devicePatterns, HW_ANSWER_TAILS, HW_REQUEST_TAILS } from './topic-kinds.js';

export interface MosquittoPolicyInput {
  identities: readonly Identity[];
  nodeName: string;
  dataTopicBase: string;
  /** This node's devices: `namespace/name` and protocol. */
  devices: readonly { id: string; protocol: string | undefined }[];
  now?: number;
}

export interface MosquittoFiles {
  passwordFile: string;
  aclFile: string;
}

export function mosquittoFiles(input: MosquittoPolicyInput): MosquittoFiles {
  const now = input.now ?? Date.now();
  const live = input.identities.filter((u) => !isExpired(u, now));
  const passwordFile = live
    .filter((u) => u.hash)
    .map((u) => `${u.name}:${u.hash}\n`)
    .join('');
  const header = [
    '# EdgeTwin edge broker ACLs, written by "edgetwin mqtt mosquitto-config"; do not edit by hand:',
    '# regenerate it when devices or users change, then send mosquitto SIGHUP.',
    '',
  ];
  const acl = [...header, ...live.flatMap((u) => [`user ${u.name}`, ...aclFor(u, input), ''])];
  return { passwordFile, aclFile: `${acl.join('\n')}` };
}

const hasPairing = (protocol: string | undefined): protocol is string =>
  protocol !== undefined && Object.hasOwn(PAIRING_OUTPUTS, protocol);

/**
 * A mapper's own topic family: with a pairing contract it reads everything there (edgecore's
 * commands) and writes only its outputs (the commands are edgecore's: its `readwrite #`); without
 * one it reads and writes the whole family.
 */
function mapperFamily(node: string, protocol: string | undefined): string[] {
  const family = `edgetwin/v1/nodes/${node}/${protocol}`;
  if (!hasPairing(protocol)) return [`topic readwrite ${family}/#`];
  return [`topic read ${family}/#`, ...(PAIRING_OUTPUTS[protocol] ?? []).map((t) => `topic write ${family}/${t}`)];
}

function aclFor(u: Identity, input: MosquittoPolicyInput): string[] {
  const { nodeName: node, dataTopicBase: base } = input;
  // The devices' protocols, and those with a pairing contract (an admin watches pairing even before a device exists).
  const protocols = [
    ...new Set([
      ...input.devices.map((d) => d.protocol).filter((p): p is string => p !== undefined),
      ...Object.keys(PAIRING_OUTPUTS),
    ]),
  ].sort();
  const hwDevice = (id: string, tail: string) => `$hw/events/device/${id}/${tail}`;
  switch (u.role) {
    case 'edgecore':
      return ['topic readwrite #', 'topic readwrite $hw/#'];
    case 'mapper': {
      const own = input.devices.filter((d) => d.protocol !== undefined && d.protocol === u.protocol);
      return [
        ...own.flatMap((d) => [
          ...HW_REQUEST_TAILS.map((t) => `topic write ${hwDevice(d.id, t)}`),
          ...HW_ANSWER_TAILS.map((t) => `topic read ${hwDevice(d.id, t)}`),
        ]),
        `topic write ${hwTopics.membershipGet(node)}`,
        `topic read $hw/events/node/${node}/membership/#`,
        ...mapperFamily(node, u.protocol),
      ];
    }
    case 'admin':
      return [
        `topic read ${base}/#`,
        `topic write ${base}/+/+/+/set`,
        'topic read $hw/#',
        ...HW_REQUEST_TAILS.map((t) => `topic write $hw/events/device/+/+/${t}`),
        'topic write $hw/events/node/+/membership/get',
        ...protocols.map((p) => `topic ${hasPairing(p) ? 'read' : 'readwrite'} edgetwin/v1/nodes/+/${p}/#`),
        'topic readwrite apps/#',
      ];
    case 'app': {
      const canRead = devicePatterns(u.read);
      const canSet = devicePatterns(u.set);
      const ids = input.devices.map((d) => d.id);
      const read = ids.filter(canRead);
      const set = ids.filter(canSet);
      return [
        ...read.flatMap((id) => [`topic read ${base}/${id}/#`, `topic read ${hwDevice(id, '#')}`]),
        ...(read.length > 0 ? [`topic read $hw/events/node/${node}/membership/#`] : []),
        ...set.flatMap((id) => [
          `topic write ${base}/${id}/+/set`,
          ...HW_REQUEST_TAILS.map((t) => `topic write ${hwDevice(id, t)}`),
        ]),
        'topic readwrite apps/#',
      ];
    }
  }
}
