/**
 * GET /twins/events: one server-sent events stream of every twin on the node, for dashboards
 * such as the console's device list. It starts with `event: twins` holding every twin, then sends
 * `event: twins` with the twins that changed, at most once per `intervalMs` (coalesced, so a
 * busy node costs a reader one message per interval, not one per report). Nothing is kept or
 * listened to while no one is connected.
 */
import { openEventStream } from './event-stream.js';
import type { FastifyInstance } from 'fastify';
import type { TwinService } from '../engine/twin-service.js';
import type { TwinChangeEvent } from '../types.js';

export function twinStreamRoutes(
  app: FastifyInstance,
  twin: TwinService,
  opts: { heartbeatMs: number; intervalMs: number },
): void {
  const open = new Set<() => void>();
  app.addHook('preClose', (done) => {
    for (const close of [...open]) close();
    done();
  });

  app.get(
    '/twins/events',
    { schema: { summary: 'Server-sent events of every twin: all at first, then the changed ones, coalesced' } },
    (_req, reply) => {
      const res = openEventStream(reply);
      const send = (ids: Iterable<string>) => {
        const items = [];
        for (const id of ids) {
          const t = twin.getTwin(id);
          if (t) items.push(t);
        }
        res.write(`event: twins\ndata: ${JSON.stringify({ items })}\n\n`);
      };
      res.write('retry: 2000\n\n');
      send(twin.listDevices().map((d) => d.id));
      const changed = new Set<string>();
      let timer: NodeJS.Timeout | undefined;
      const onChange = (ev: TwinChangeEvent) => {
        changed.add(ev.id);
        timer ??= setTimeout(() => {
          timer = undefined;
          // Behind a slow reader, skip this round rather than queue more.
          if (res.writableNeedDrain) return;
          send(changed);
          changed.clear();
        }, opts.intervalMs);
      };
      twin.on('change', onChange);
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), opts.heartbeatMs);
      const close = () => {
        twin.off('change', onChange);
        clearInterval(heartbeat);
        if (timer) clearTimeout(timer);
        open.delete(close);
        if (!res.writableEnded) res.end();
      };
      open.add(close);
      res.once('close', close);
    },
  );
}
