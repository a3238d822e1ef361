/** The mapper processes edgecore supervises: one line per protocol with state, restarts and last error. */
import { useEffect, useState } from 'preact/hooks';
import { get, type NodeStatus } from '../api.js';
import { ErrorNote } from './error-note.js';

export function MappersPage() {
  const [node, setNode] = useState<NodeStatus | undefined>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    const abort = new AbortController();
    const load = () =>
      get<NodeStatus>('/node', abort.signal).then(
        (n) => {
          setNode(n);
          setError(undefined);
        },
        (err: unknown) => {
          if (!abort.signal.aborted) setError(err);
        },
      );
    void load();
    const t = setInterval(() => void load(), 3000);
    return () => {
      abort.abort();
      clearInterval(t);
    };
  }, []);
  return (
    <section>
      <h1>Mappers {node && <small>on {node.name}</small>}</h1>
      <ErrorNote error={error} />
      {node && node.mappers.length === 0 && <p>No mapper processes: no device needs one, or mappers run standalone.</p>}
      <table class="mappers">
        <thead>
          <tr>
            <th>Protocol</th>
            <th>State</th>
            <th>PID</th>
            <th>Restarts</th>
            <th>Last error</th>
          </tr>
        </thead>
        <tbody>
          {node?.mappers.map((m) => (
            <tr key={m.protocol} data-mapper={m.protocol} class={m.state === 'running' ? '' : 'bad'}>
              <td data-label="Protocol">{m.protocol}</td>
              <td data-label="State">
                <span class={`state ${m.state}`}>{m.state}</span>
              </td>
              <td data-label="PID">{m.pid ?? '–'}</td>
              <td data-label="Restarts">{m.restarts}</td>
              <td data-label="Last error">{m.lastError ?? '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="meta">
        Pair new ZigBee and Bluetooth LE devices on the <a href="#/pairing">Pairing</a> page.
      </p>
    </section>
  );
}
