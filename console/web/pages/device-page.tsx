/**
 * One device: every property with its live value (server-sent events), unit, quality, desired
 * value and write status, a typed form for the writable ones, and a history chart per numeric
 * property.
 */
import { useEffect, useState } from 'preact/hooks';
import { get, streamEvents, type DeviceSummary, type Twin } from '../api.js';
import { ago, formatValue, isNumeric } from '../format.js';
import { ErrorNote } from './error-note.js';
import { HistoryChart } from './history-chart.js';
import { PropertyForm } from './property-form.js';

type Change = Partial<Pick<Twin, 'state' | 'lastOnline' | 'delta'>> & {
  desired?: Record<string, Twin['desired'][string] | null>;
  reported?: Record<string, Twin['reported'][string] | null>;
};

function merge<T>(into: Record<string, T>, changes: Record<string, T | null> | undefined): Record<string, T> {
  if (!changes) return into;
  const out = { ...into };
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** Write status of a desired value: the twin's own when it has one, else pending until reported. */
function writeStatus(t: Twin, p: string): { status: string; reason?: string } | undefined {
  const d = t.desired[p];
  if (!d) return undefined;
  const w = d.write;
  if (w) {
    const why = [w.reason, w.code && `(${w.code})`].filter(Boolean).join(' ');
    return { status: w.status, ...(why ? { reason: why } : {}) };
  }
  return { status: p in t.delta ? 'pending' : 'applied' };
}

export function DevicePage(props: { id: string }) {
  const [device, setDevice] = useState<DeviceSummary | undefined>();
  const [twin, setTwin] = useState<Twin | undefined>();
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    const abort = new AbortController();
    get<DeviceSummary>(`/devices/${props.id}`, abort.signal).then(setDevice, (err: unknown) => {
      if (!abort.signal.aborted) setError(err);
    });
    streamEvents(
      `/devices/${props.id}/events`,
      (event, data) => {
        if (event === 'snapshot') setTwin(JSON.parse(data) as Twin);
        else if (event === 'change') {
          const c = JSON.parse(data) as Change;
          setTwin((t) =>
            t
              ? {
                  ...t,
                  state: c.state ?? t.state,
                  ...(c.lastOnline !== undefined ? { lastOnline: c.lastOnline } : {}),
                  delta: c.delta ?? t.delta,
                  desired: merge(t.desired, c.desired),
                  reported: merge(t.reported, c.reported),
                }
              : t,
          );
        }
      },
      abort.signal,
      setError,
    );
    // The stream starts with a snapshot only when resuming; load the twin once for the first view.
    get<Twin>(`/devices/${props.id}/twin`, abort.signal).then(
      (t) => setTwin((old) => old ?? t),
      (err: unknown) => {
        if (!abort.signal.aborted) setError(err);
      },
    );
    return () => abort.abort();
  }, [props.id]);

  if (!device) return <ErrorNote error={error} />;
  return (
    <section>
      <div class="toolbar">
        <h1>{device.id}</h1>
        <span class={`state ${twin?.state ?? device.state}`} data-testid="device-state">
          {twin?.state ?? device.state}
        </span>
      </div>
      <p class="meta">
        {device.protocol ?? 'no protocol'} · model {device.model} · last online {ago(twin?.lastOnline)}
      </p>
      <ErrorNote error={error} />
      <div class="props">
        {device.properties.map((p) => {
          const r = twin?.reported[p.name];
          const d = twin?.desired[p.name];
          const w = twin && writeStatus(twin, p.name);
          return (
            <div class="card prop" key={p.name} data-prop={p.name}>
              <div class="prop-head">
                <h2>{p.name}</h2>
                <span class="live" data-testid={`value-${p.name}`}>
                  {formatValue(r?.value, p)}
                </span>
              </div>
              <p class="meta">
                {p.type} · {p.accessMode}
                {p.minimum !== undefined && ` · min ${p.minimum}`}
                {p.maximum !== undefined && ` · max ${p.maximum}`}
                {r && ` · ${ago(r.updatedAt)}`}
                {r && ` · quality ${r.quality ?? 'good'}`}
              </p>
              {d && (
                <p class="meta" data-testid={`desired-${p.name}`}>
                  desired <b>{formatValue(d.value, p)}</b> ({d.source}) ·{' '}
                  <span class={`write ${w?.status ?? ''}`}>{w?.status}</span>
                  {w?.reason && <> · {w.reason}</>}
                </p>
              )}
              {p.accessMode !== 'ReadOnly' && (
                <PropertyForm id={device.id} property={p} current={d?.value ?? r?.value} />
              )}
              {isNumeric(p) && <HistoryChart id={device.id} property={p} />}
            </div>
          );
        })}
      </div>
    </section>
  );
}
