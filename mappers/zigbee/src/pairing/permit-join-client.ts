/** The client side of permit-join (used by the CLI): publish a request, wait for the result. */
import { randomUUID } from 'node:crypto';
import { EdgeTwinError } from '@edgetwin/sdk';
import { connectMqtt } from '@edgetwin/sdk/mqtt';
import { zigbeeTopics, type PermitJoinResult } from './pairing.js';

export async function permitJoinOverMqtt(opts: {
  mqttUrl: string;
  nodeName: string;
  seconds: number;
  coordinator?: string;
  timeoutMs?: number;
}): Promise<PermitJoinResult> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const client = await connectMqtt({
    url: opts.mqttUrl,
    clientId: `edgetwin-permit-join-${randomUUID().slice(0, 8)}`,
    connectTimeoutMs: timeoutMs,
  });
  const id = randomUUID();
  let timer: NodeJS.Timeout | undefined;
  try {
    const answer = new Promise<PermitJoinResult>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new EdgeTwinError(
              'ET_TIMEOUT',
              `no permit_join result from the zigbee mapper of node ${opts.nodeName}; is it running?`,
            ),
          ),
        timeoutMs,
      );
      client.setMessageHandler((_topic, payload, done) => {
        done();
        let r: PermitJoinResult;
        try {
          r = JSON.parse(payload.toString('utf8')) as PermitJoinResult;
        } catch {
          return;
        }
        if (r.id === id) resolve(r);
      });
    });
    await client.subscribe([zigbeeTopics.permitJoinResult(opts.nodeName)], 1);
    const req = { seconds: opts.seconds, id, ...(opts.coordinator ? { coordinator: opts.coordinator } : {}) };
    await client.publishAsync(zigbeeTopics.permitJoin(opts.nodeName), JSON.stringify(req), 1);
    return await answer;
  } finally {
    clearTimeout(timer);
    await client.end();
  }
}
