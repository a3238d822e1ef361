/**
 * The MQTT 3.1.1 codec under MqttConnection, checked against mqtt-packet (the codec of mqtt.js
 * and aedes) as an independent implementation: what we encode, it parses; what it generates, we
 * decode, even when the bytes arrive one at a time.
 */
import mqttPacket, { type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import {
  MqttProtocolError,
  PacketReader,
  encodeConnect,
  encodePuback,
  encodePublish,
  encodeSubscribe,
  encodeUnsubscribe,
  markDuplicate,
  type IncomingPacket,
} from '../src/mqtt/codec.js';

function parseWithMqttPacket(buf: Buffer): Packet[] {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const out: Packet[] = [];
  parser.on('packet', (p: Packet) => out.push(p));
  parser.on('error', (err: Error) => {
    throw err;
  });
  parser.parse(buf);
  return out;
}

function decodeByteByByte(buf: Buffer): IncomingPacket[] {
  const reader = new PacketReader();
  const out: IncomingPacket[] = [];
  for (const byte of buf) {
    reader.push(Buffer.from([byte]));
    for (let p = reader.next(); p; p = reader.next()) out.push(p);
  }
  return out;
}

describe('MQTT codec', () => {
  it('encodes CONNECT, PUBLISH, PUBACK, SUBSCRIBE and UNSUBSCRIBE as mqtt-packet parses them', () => {
    const [connect] = parseWithMqttPacket(
      encodeConnect({
        clientId: 'edgecore-n1',
        keepaliveSeconds: 30,
        cleanSession: true,
        username: 'ü',
        password: 'pw',
      }),
    );
    expect(connect).toMatchObject({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepalive: 30,
      clientId: 'edgecore-n1',
      username: 'ü',
    });
    expect(String((connect as { password?: Buffer }).password)).toBe('pw');

    const payload = 'x'.repeat(20_000) + 'é'; // a 3-byte remaining length, a 2-byte character
    const publish = encodePublish('$hw/events/device/default/t1/twin/update/result', payload, 1, true, 513);
    markDuplicate(publish);
    expect(parseWithMqttPacket(publish)[0]).toMatchObject({
      cmd: 'publish',
      topic: '$hw/events/device/default/t1/twin/update/result',
      qos: 1,
      retain: true,
      dup: true,
      messageId: 513,
    });
    expect(String((parseWithMqttPacket(publish)[0] as { payload: Buffer }).payload)).toBe(payload);
    expect(parseWithMqttPacket(encodePublish('a/b', Buffer.from([0, 255]), 0, false))[0]).toMatchObject({
      cmd: 'publish',
      qos: 0,
      retain: false,
      payload: Buffer.from([0, 255]),
    });
    expect(parseWithMqttPacket(encodePuback(65_535))[0]).toMatchObject({ cmd: 'puback', messageId: 65_535 });
    expect(
      parseWithMqttPacket(
        encodeSubscribe(7, [
          ['$hw/events/device/+/+/twin/update', 1],
          ['devices/#', 1],
        ]),
      )[0],
    ).toMatchObject({
      cmd: 'subscribe',
      messageId: 7,
      subscriptions: [
        { topic: '$hw/events/device/+/+/twin/update', qos: 1 },
        { topic: 'devices/#', qos: 1 },
      ],
    });
    expect(parseWithMqttPacket(encodeUnsubscribe(8, ['a/#', 'b']))[0]).toMatchObject({
      cmd: 'unsubscribe',
      messageId: 8,
      unsubscriptions: ['a/#', 'b'],
    });
  });

  it('decodes what mqtt-packet generates, fed one byte at a time', () => {
    const big = Buffer.alloc(300_000, 7);
    const stream = Buffer.concat([
      mqttPacket.generate({ cmd: 'connack', returnCode: 0, sessionPresent: false }),
      mqttPacket.generate({
        cmd: 'publish',
        topic: 'devices/default/t1/temperature',
        payload: '{"value":"21"}',
        qos: 1,
        messageId: 42,
        retain: true,
        dup: false,
      }),
      mqttPacket.generate({ cmd: 'publish', topic: 'big', payload: big, qos: 0, retain: false, dup: false }),
      mqttPacket.generate({ cmd: 'puback', messageId: 9 }),
      mqttPacket.generate({ cmd: 'suback', messageId: 3, granted: [1, 0, 128] }),
      mqttPacket.generate({ cmd: 'unsuback', messageId: 4 } as Packet), // (its type wants MQTT 5's reason codes)
      mqttPacket.generate({ cmd: 'pingresp' }),
    ]);
    const packets = decodeByteByByte(stream);
    expect(packets.map((p) => p.type)).toEqual([2, 3, 3, 4, 9, 11, 13]);
    expect(packets[0]).toEqual({ type: 2, sessionPresent: false, returnCode: 0 });
    expect(packets[1]).toMatchObject({
      topic: 'devices/default/t1/temperature',
      qos: 1,
      retain: true,
      dup: false,
      packetId: 42,
    });
    expect(String((packets[1] as { payload: Buffer }).payload)).toBe('{"value":"21"}');
    expect((packets[2] as { payload: Buffer }).payload.equals(big)).toBe(true);
    expect(packets[3]).toEqual({ type: 4, packetId: 9 });
    expect(packets[4]).toEqual({ type: 9, packetId: 3, returnCodes: [1, 0, 128] });
    expect(packets[5]).toEqual({ type: 11, packetId: 4 });
  });

  it('rejects a remaining length of more than four bytes and packet types a client never receives', () => {
    const reader = new PacketReader();
    reader.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
    expect(() => reader.next()).toThrow(MqttProtocolError);
    const subscribeFromBroker = new PacketReader();
    subscribeFromBroker.push(encodeSubscribe(1, [['a', 0]]));
    expect(() => subscribeFromBroker.next()).toThrow(/unexpected packet type 8 from the broker/);
    expect(() => encodePublish('t', Buffer.alloc(0), 0, false)).not.toThrow();
    expect(() => encodePublish('t'.repeat(70_000), 'x', 0, false)).toThrow(
      /the topic is 70000 bytes; MQTT strings hold at most 65,535/,
    );
  });
});
