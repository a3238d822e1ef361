/**
 * Pairing: open the ZigBee network for N seconds and watch devices join and be interviewed, scan
 * for BLE advertisements and watch them come in (one `GET /pairing/events` stream). Starting needs
 * an admin token; errors are the API's own.
 */
import { useEffect, useState } from 'preact/hooks';
import { send, streamEvents } from '../api.js';
import { ErrorNote } from './error-note.js';

type Protocol = 'zigbee' | 'bluetooth';
interface Window {
  protocol: Protocol;
  seconds: number;
  until: number;
}
interface ZigbeeDevice {
  ieeeAddress: string;
  status: string;
  modelId?: string;
  manufacturerName?: string;
  device?: string;
}
interface Advertisement {
  address: string;
  name?: string;
  rssi: number;
  serviceUuids: string[];
  device?: string;
}
type Event =
  | ({ type: 'window' } & Window)
  | { type: 'window-end'; protocol: Protocol; reason: string }
  | ({ type: 'zigbee-device' } & ZigbeeDevice)
  | ({ type: 'ble-advertisement' } & Advertisement);

const STATUS: Record<string, string> = {
  joined: 'joined',
  started: 'interviewing',
  successful: 'interviewed',
  failed: 'interview failed',
};

const PATHS: Record<Protocol, string> = {
  zigbee: '/pairing/zigbee/permit-join',
  bluetooth: '/pairing/bluetooth/scan',
};

function Starter(props: {
  protocol: Protocol;
  label: string;
  max: number;
  initial: number;
  window?: Window;
  now: number;
}) {
  const [seconds, setSeconds] = useState(String(props.initial));
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const run = async (method: 'POST' | 'DELETE') => {
    setBusy(true);
    try {
      await send(method, PATHS[props.protocol], method === 'POST' ? { seconds: Number(seconds) } : undefined);
      setError(undefined);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const left = props.window
    ? Math.min(props.window.seconds, Math.max(0, Math.ceil((props.window.until - props.now) / 1000)))
    : 0;
  return (
    <form
      class="set"
      data-pairing={props.protocol}
      onSubmit={(e) => {
        e.preventDefault();
        void run('POST');
      }}
    >
      <label>
        for{' '}
        <input
          type="number"
          name="seconds"
          min={1}
          max={props.max}
          value={seconds}
          onInput={(e) => setSeconds(e.currentTarget.value)}
        />{' '}
        s
      </label>
      <button type="submit" disabled={busy}>
        {props.label}
      </button>
      {props.window && (
        <>
          <span class="state online" data-testid={`open-${props.protocol}`}>
            open, {left} s left
          </span>
          <button type="button" onClick={() => void run('DELETE')}>
            Stop
          </button>
        </>
      )}
      <ErrorNote error={error} />
    </form>
  );
}

export function PairingPage() {
  const [windows, setWindows] = useState<Partial<Record<Protocol, Window>>>({});
  const [zigbee, setZigbee] = useState<Record<string, ZigbeeDevice>>({});
  const [ads, setAds] = useState<Record<string, Advertisement>>({});
  const [error, setError] = useState<unknown>();
  const [now, setNow] = useState(Date.now());

  useEffect(() => {
    const abort = new AbortController();
    const apply = (e: Event) => {
      if (e.type === 'window') setWindows((w) => ({ ...w, [e.protocol]: e }));
      else if (e.type === 'window-end')
        setWindows((w) => {
          const { [e.protocol]: _gone, ...rest } = w;
          return rest;
        });
      else if (e.type === 'zigbee-device') setZigbee((z) => ({ ...z, [e.ieeeAddress]: { ...z[e.ieeeAddress], ...e } }));
      else setAds((a) => ({ ...a, [e.address]: e }));
    };
    streamEvents(
      '/pairing/events',
      (event, data) => {
        setError(undefined);
        if (event !== 'state') return apply(JSON.parse(data) as Event);
        const s = JSON.parse(data) as { windows: Window[]; events: Event[] };
        setWindows(Object.fromEntries(s.windows.map((w) => [w.protocol, w])));
        for (const e of s.events) apply(e);
      },
      abort.signal,
      setError,
    );
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      abort.abort();
      clearInterval(tick);
    };
  }, []);

  return (
    <section>
      <h1>Pairing</h1>
      <ErrorNote error={error} />
      <h2>ZigBee</h2>
      <p class="meta">
        Open the network, then put the device in pairing mode. Devices appear as they join and are interviewed.
      </p>
      <Starter
        protocol="zigbee"
        label="Permit join"
        max={254}
        initial={60}
        now={now}
        {...(windows.zigbee ? { window: windows.zigbee } : {})}
      />
      <table class="pairing">
        <thead>
          <tr>
            <th>IEEE address</th>
            <th>Status</th>
            <th>Model</th>
            <th>Vendor</th>
            <th>Device</th>
          </tr>
        </thead>
        <tbody>
          {Object.values(zigbee).map((d) => (
            <tr key={d.ieeeAddress} data-ieee={d.ieeeAddress}>
              <td data-label="IEEE">{d.ieeeAddress}</td>
              <td data-label="Status">
                <span class={`state ${d.status === 'successful' ? 'online' : d.status === 'failed' ? 'offline' : ''}`}>
                  {STATUS[d.status] ?? d.status}
                </span>
              </td>
              <td data-label="Model">{d.modelId ?? '–'}</td>
              <td data-label="Vendor">{d.manufacturerName ?? '–'}</td>
              <td data-label="Device">{d.device ?? 'not declared'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Bluetooth LE</h2>
      <p class="meta">Scan for advertisements; configured devices that are connected do not advertise.</p>
      <Starter
        protocol="bluetooth"
        label="Scan"
        max={120}
        initial={30}
        now={now}
        {...(windows.bluetooth ? { window: windows.bluetooth } : {})}
      />
      <table class="pairing">
        <thead>
          <tr>
            <th>Address</th>
            <th>Name</th>
            <th>RSSI</th>
            <th>Services</th>
            <th>Device</th>
          </tr>
        </thead>
        <tbody>
          {Object.values(ads).map((a) => (
            <tr key={a.address} data-address={a.address}>
              <td data-label="Address">{a.address}</td>
              <td data-label="Name">{a.name ?? '–'}</td>
              <td data-label="RSSI">{a.rssi} dBm</td>
              <td data-label="Services" class="uuids">
                {a.serviceUuids.join(', ') || '–'}
              </td>
              <td data-label="Device">{a.device ?? 'not configured'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
