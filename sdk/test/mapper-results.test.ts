import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { specTopics } from '@edgetwin/sdk';
import { runMapper, type MapperHandle } from '@edgetwin/sdk/mapper';
import { systemClock } from '@edgetwin/sdk/util';
import {
  MosquittoSub,
  captureLogs,
  missingPeer,
  mosquittoPub,
  startMosquitto,
  waitFor,
  type RunningPeer,
} from '@edgetwin/sdk/testing';
import { MemoryDevice, memoryMapper, memorySpec } from './helpers/memory-mapper.js';

const skip = missingPeer('mosquitto', 'mosquitto_sub', 'mosquitto_pub');

// The twin side is played by hand with mosquitto_pub, so the test decides when each answer arrives.
describe.skipIf(skip !== undefined)('mapper runtime: $hw answers are matched to its own requests', () => {
  let broker: RunningPeer;
  let sub: MosquittoSub;
  let handle: MapperHandle | undefined;

  beforeAll(async () => {
    broker = await startMosquitto();
    sub = await MosquittoSub.start(broker.port, '$hw/#');
  });
  afterAll(async () => {
    await handle?.stop();
    await sub?.stop();
    await broker?.stop();
  });

  it("another client's failed twin/update result is not taken as the mapper's, and not logged as its error", async () => {
    const node = 'results-1';
    const dev = new MemoryDevice({ v: 1 });
    const spec = memorySpec('meter', 'm', node, [{ name: 'v', collectCycle: 100 }]);
    await mosquittoPub(
      broker.port,
      specTopics.device(node, { namespace: 'default', name: 'meter' }),
      JSON.stringify(spec),
      {
        retain: true,
      },
    );
    const logs = captureLogs();
    handle = await runMapper(
      memoryMapper(new Map([['m', dev]]), () => systemClock),
      {
        mqttUrl: broker.url,
        nodeName: node,
        logger: logs.logger,
        resultTimeoutMs: 30_000,
      },
    );
    const topic = '$hw/events/device/default/meter/twin/update';
    const mine = await sub.waitFor(topic, (m) => m.json().twin?.v?.actual?.value === '1');
    const eventId = mine.json().event_id as string;
    // While the mapper waits for its answer, other clients' requests fail (one with an id, one unreadable).
    const from = sub.mark;
    for (const foreign of [
      { event_id: 'someone-else', timestamp: Date.now(), code: 400, reason: 'foreign failure A' },
      { event_id: '', timestamp: Date.now(), code: 400, reason: 'foreign failure B' },
    ]) {
      await mosquittoPub(broker.port, `${topic}/result`, JSON.stringify(foreign));
    }
    await mosquittoPub(
      broker.port,
      `${topic}/result`,
      JSON.stringify({ event_id: eventId, timestamp: Date.now(), twin: {} }),
    );
    // The next report goes out only after the first one was answered.
    dev.values.set('v', 2);
    const next = await sub.waitFor(topic, (m) => m.json().twin?.v?.actual?.value === '2', from);
    await mosquittoPub(broker.port, `${topic}/result`, JSON.stringify({ event_id: next.json().event_id, twin: {} }));
    await waitFor(() => handle!.devices()[0]?.state === 'online', 10_000, 'the device online');
    expect(logs.find('foreign failure')).toEqual([]);
    expect(logs.records.filter((r) => r.level >= 50)).toEqual([]);
  }, 60_000);
});
