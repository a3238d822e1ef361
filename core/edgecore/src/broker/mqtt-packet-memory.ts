/**
 * mqtt-packet, the MQTT codec under aedes (and mqtt.js), builds on its first write a table of
 * 65,536 two-byte Buffers, one per packet id, to save a 2-byte allocation per QoS 1 packet. The
 * table costs about 6.5 MB of heap in every process that speaks MQTT; on an edge node that is a
 * fifth of edgecore's live heap, for no measurable speed. Call this before the first packet is
 * written (it is idempotent): packet ids are then encoded as they are sent and the table is never
 * built.
 */
import { createRequire } from 'node:module';

export function disableMqttPacketIdCache(): void {
  // Loaded here, not at import: processes that never use mqtt-packet (edgecore on an external
  // broker) do not pay for it.
  const mqttPacket = createRequire(import.meta.url)('mqtt-packet') as typeof import('mqtt-packet');
  mqttPacket.writeToStream.cacheNumbers = false;
}
