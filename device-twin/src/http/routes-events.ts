/**
 * GET /devices/{ns}/{name}/events: server-sent events of a device's twin changes. Each event's
 * `id` is the device's change sequence number; reconnecting with `Last-Event-ID` replays what was
 * missed, or starts with an `event: snapshot` when that is no longer in the journal.
 */
import { openEventStream } from './event-stream.js';
import type { FastifyInstance } from 'fastify';
import type { TwinService } from '../engine/twin-service.js';
import type { EventJournal, JournalEntry } from './event-journal.js';
import { requireDevice } from './routes-devices.js';
import { DeviceParamsSchema, EventsQuerySchema, ProblemSchema, type DeviceParams } from './schemas.js';

export interface SseOptions {
  heartbeatMs: number;
}

function frame(e: JournalEntry): string {
  return `id: ${e.seq}\nevent: ${e.event}\ndata: ${e.data}\n\n`;
}

export function eventRoutes(app: FastifyInstance, twin: TwinService, journal: EventJournal, opts: SseOptions): void {
  const open = new Set<() => void>();
  app.addHook('preClose', (done) => {
    for (const close of [...open]) close();
    done();
  });

  app.get<{ Params: DeviceParams; Querystring: { lastEventId?: string } }>(
    '/devices/:ns/:name/events',
    {
      schema: {
        summary: 'Server-sent events of twin changes; id = per-device sequence; Last-Event-ID resumes',
        params: DeviceParamsSchema,
        querystring: EventsQuerySchema,
        headers: { type: 'object', properties: { 'last-event-id': { type: 'string' } } },
        response: { 404: ProblemSchema },
      },
    },
    (req, reply) => {
      const d = requireDevice(twin, req.params);
      const header = req.headers['last-event-id'];
      const raw = (Array.isArray(header) ? header[0] : header) ?? req.query.lastEventId;
      const n = raw === undefined ? NaN : Number(raw);
      const lastSeq = Number.isSafeInteger(n) && n >= 0 ? n : undefined;
      const res = openEventStream(reply);
      let sent = lastSeq ?? -1;
      const send = (e: JournalEntry) => {
        if (e.event === 'change' && e.seq <= sent) return;
        sent = e.seq;
        res.write(frame(e));
      };
      res.write('retry: 2000\n\n');
      const sub = journal.subscribe(d.id, lastSeq, send);
      for (const e of sub.initial) send(e);
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), opts.heartbeatMs);
      const close = () => {
        clearInterval(heartbeat);
        sub.unsubscribe();
        open.delete(close);
        if (!res.writableEnded) res.end();
      };
      open.add(close);
      res.once('close', close);
    },
  );
}
