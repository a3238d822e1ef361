import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingPeer, startMosquitto, type RunningPeer } from '@edgetwin/sdk/testing';

const helper = fileURLToPath(new URL('../dist/broker/mqtt-packet-memory.js', import.meta.url));
const skip = missingPeer('mosquitto');

/**
 * A fresh node process publishes QoS 1 messages to Mosquitto through mqtt.js, with or without
 * disableMqttPacketIdCache() first, and reports how many packet-id buffers mqtt-packet built.
 */
function packetIdBuffersAfterPublishing(url: string, disable: boolean): number {
  const script = `
    import { createRequire } from 'node:module';
    import { connectAsync } from 'mqtt';
    import { disableMqttPacketIdCache } from ${JSON.stringify(helper)};
    if (${disable}) disableMqttPacketIdCache();
    const client = await connectAsync(${JSON.stringify(url)}, { reconnectPeriod: 0 });
    for (let i = 0; i < 20; i++) await client.publishAsync('edgetwin/test/ids', String(i), { qos: 1 });
    await client.endAsync();
    const require = createRequire(import.meta.resolve('mqtt'));
    const numbers = require(require.resolve('mqtt-packet/numbers.js'));
    console.log(Object.keys(numbers.cache).length);
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    cwd: fileURLToPath(new URL('..', import.meta.url)),
  });
  return Number(out.trim());
}

describe.skipIf(skip !== undefined)('disableMqttPacketIdCache (real broker)', () => {
  let broker: RunningPeer;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('keeps mqtt-packet from building its 65,536 packet-id buffers, and QoS 1 publishing still works', () => {
    expect(packetIdBuffersAfterPublishing(broker.url, false)).toBe(65536); // the control: mqtt.js builds them
    expect(packetIdBuffersAfterPublishing(broker.url, true)).toBe(0);
  });
});
