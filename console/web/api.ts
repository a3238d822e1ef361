/**
 * The console's access to edgecore's HTTP API: JSON requests that send the login token as
 * `Authorization: Bearer`, errors as the API's problem details, and server-sent events read
 * over fetch (EventSource cannot send an Authorization header).
 */

export type TwinValue = number | boolean | string;

export interface Property {
  name: string;
  type: string;
  accessMode: string;
  unit?: string;
  minimum?: number;
  maximum?: number;
}

export interface DeviceSummary {
  id: string;
  namespace: string;
  name: string;
  model: string;
  protocol?: string;
  state: string;
  properties: Property[];
}

export interface Twin {
  id: string;
  desired: Record<
    string,
    {
      value: TwinValue;
      version: number;
      updatedAt: number;
      source: string;
      /** The write's outcome, on twins that carry it. */
      write?: { status: string; code?: string; reason?: string };
    }
  >;
  reported: Record<string, { value: TwinValue; updatedAt: number; quality?: string }>;
  delta: Record<string, TwinValue>;
  state: string;
  lastOnline?: number;
  seq: number;
}

export interface NodeStatus {
  name: string;
  mappers: { protocol: string; state: string; pid?: number; restarts: number; lastError?: string }[];
  problems: { file: string; document?: number; code: string; message: string; path?: string }[];
}

export interface HistoryPoint {
  t: number;
  min: number;
  max: number;
  avg: number;
  last: number;
  count: number;
}

/** An API error: the problem details' detail and code, or what went wrong on the way. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const TOKEN_KEY = 'edgetwin.token';
export const token = {
  get: (): string | null => localStorage.getItem(TOKEN_KEY),
  set: (t: string) => localStorage.setItem(TOKEN_KEY, t),
  clear: () => localStorage.removeItem(TOKEN_KEY),
};

/** Called when the API answers 401: the app shows the login form. */
export let onUnauthorized: () => void = () => undefined;
export function setOnUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const t = token.get();
  return t ? { ...extra, authorization: `Bearer ${t}` } : extra;
}

async function failure(res: Response): Promise<ApiError> {
  if (res.status === 401) onUnauthorized();
  const text = await res.text();
  try {
    const p = JSON.parse(text) as { detail?: string; code?: string; title?: string };
    return new ApiError(res.status, p.code ?? `HTTP_${res.status}`, p.detail ?? p.title ?? text);
  } catch {
    return new ApiError(res.status, `HTTP_${res.status}`, text || res.statusText);
  }
}

export async function get<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(`/api/v1${path}`, { headers: headers(), ...(signal ? { signal } : {}) });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

export async function patchDesired(id: string, values: Record<string, TwinValue | null>): Promise<Twin> {
  const res = await fetch(`/api/v1/devices/${id}/twin/desired`, {
    method: 'PATCH',
    headers: headers({ 'content-type': 'application/merge-patch+json' }),
    body: JSON.stringify(values),
  });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as Twin;
}

/** POST or DELETE with a JSON body (or none); errors as the API's problem details. */
export async function send<T>(method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<T | undefined> {
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw await failure(res);
  return res.status === 204 ? undefined : ((await res.json()) as T);
}

/**
 * Reads a server-sent events stream with fetch, calling `onEvent` per event, reconnecting after
 * `retryMs` when it ends, until `signal` aborts.
 */
export function streamEvents(
  path: string,
  onEvent: (event: string, data: string) => void,
  signal: AbortSignal,
  onError: (err: Error) => void = () => undefined,
  retryMs = 2000,
): void {
  const once = async () => {
    const res = await fetch(`/api/v1${path}`, { headers: headers({ accept: 'text/event-stream' }), signal });
    if (!res.ok || !res.body) throw await failure(res);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let end: number;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, end);
        buf = buf.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of frame.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length > 0) onEvent(event, data.join('\n'));
      }
    }
  };
  const loop = async () => {
    while (!signal.aborted) {
      try {
        await once();
      } catch (err) {
        if (signal.aborted) return;
        onError(err as Error);
      }
      await new Promise((r) => setTimeout(r, retryMs));
    }
  };
  void loop();
}
