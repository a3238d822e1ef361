/**
 * The device list: every device with protocol, model, node, state, last seen and a live value per
 * property (one event stream for all twins); problems first: devices files that did not load,
 * then devices that are not online or have a failed write. Filter by any text.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { get, streamEvents, type DeviceSummary, type NodeStatus, type Twin } from '../api.js';
import { ago, failedWrites, formatValue, healthy, lastSeen } from '../format.js';
import { ErrorNote } from './error-note.js';

export function DeviceList() {
  const [devices, setDevices] = useState<DeviceSummary[]>([]);
  const [node, setNode] = useState<NodeStatus | undefined>();
  const [twins, setTwins] = useState<Record<string, Twin>>({});
  const [filter, setFilter] = useState('');
  const [error, setError] = useState<unknown>();
  const [now, setNow] = useState(Date.now());

  useEffect(() => {
    const abort = new AbortController();
    const load = async () => {
      try {
        const [list, status] = await Promise.all([
          get<{ items: DeviceSummary[] }>('/devices', abort.signal),
          get<NodeStatus>('/node', abort.signal),
        ]);
        setDevices(list.items);
        setNode(status);
        setError(undefined);
      } catch (err) {
        if (!abort.signal.aborted) setError(err);
      }
    };
    void load();
    const poll = setInterval(() => void load(), 5000);
    const tick = setInterval(() => setNow(Date.now()), 1000);
    streamEvents(
      '/twins/events',
      (event, data) => {
        if (event !== 'twins') return;
        const { items } = JSON.parse(data) as { items: Twin[] };
        setTwins((old) => {
          const next = { ...old };
          for (const t of items) next[t.id] = t;
          return next;
        });
      },
      abort.signal,
      setError,
    );
    return () => {
      abort.abort();
      clearInterval(poll);
      clearInterval(tick);
    };
  }, []);

  const rows = useMemo(() => {
    const q = filter.trim().toLowerCase();
    const state = (d: DeviceSummary) => twins[d.id]?.state ?? d.state;
    const bad = (d: DeviceSummary) => !healthy(state(d)) || failedWrites(twins[d.id]).length > 0;
    return devices
      .filter((d) => !q || [d.id, d.model, d.protocol ?? '', state(d)].some((s) => s.toLowerCase().includes(q)))
      .sort((a, b) => Number(bad(b)) - Number(bad(a)) || a.id.localeCompare(b.id));
  }, [devices, twins, filter]);

  return (
    <section>
      <div class="toolbar">
        <h1>Devices {node && <small>on {node.name}</small>}</h1>
        <input
          type="search"
          placeholder="Filter: name, model, protocol, state"
          aria-label="Filter devices"
          value={filter}
          onInput={(e) => setFilter(e.currentTarget.value)}
        />
      </div>
      <ErrorNote error={error} />
      {node && node.problems.length > 0 && (
        <div class="problems" data-testid="load-problems">
          <h2>Devices files with problems</h2>
          <ul>
            {node.problems.map((p) => (
              <li key={`${p.file}${p.document ?? ''}${p.message}`}>
                <code>{p.file}</code>
                {p.document !== undefined && <> document {p.document}</>}
                {p.path && (
                  <>
                    {' '}
                    field <code>{p.path}</code>
                  </>
                )}
                : {p.message} <span class="code">{p.code}</span>
              </li>
            ))}
          </ul>
        </div>
      )}
      <table class="devices">
        <thead>
          <tr>
            <th>Device</th>
            <th>Protocol</th>
            <th>Model</th>
            <th>Node</th>
            <th>State</th>
            <th>Last seen</th>
            <th>Values</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((d) => {
            const t = twins[d.id];
            const state = t?.state ?? d.state;
            const failed = failedWrites(t);
            return (
              <tr key={d.id} data-device={d.id} class={healthy(state) && failed.length === 0 ? '' : 'bad'}>
                <td data-label="Device">
                  <a href={`#/devices/${d.id}`}>{d.id}</a>
                </td>
                <td data-label="Protocol">{d.protocol ?? '–'}</td>
                <td data-label="Model">{d.model}</td>
                <td data-label="Node">{node?.name ?? ''}</td>
                <td data-label="State">
                  <span class={`state ${state}`}>{state}</span>
                  {failed.length > 0 && <span class="state failed">write failed: {failed.join(', ')}</span>}
                </td>
                <td data-label="Last seen">{ago(lastSeen(t), now)}</td>
                <td data-label="Values" class="values">
                  {d.properties.map((p) => (
                    <span class="chip" key={p.name} data-prop={p.name}>
                      {p.name} <b>{formatValue(t?.reported[p.name]?.value, p)}</b>
                    </span>
                  ))}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {devices.length === 0 && !error && <p>No devices on this node yet.</p>}
    </section>
  );
}
