/**
 * The edge's HTTP calls to the cloud hub: `POST /v1/join` (join token, and over TLS a CSR) and
 * `POST /v1/renew` (a CSR, authenticated by the current node certificate).
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { EdgeTwinError } from '@edgetwin/sdk';

export interface HubUrls {
  http: URL;
  ws: URL;
  secure: boolean;
}

export function hubUrls(url: string): HubUrls {
  const u = new URL(url);
  const secure = u.protocol === 'https:' || u.protocol === 'wss:';
  const http = new URL(u.toString());
  http.protocol = secure ? 'https:' : 'http:';
  const ws = new URL(u.toString());
  ws.protocol = secure ? 'wss:' : 'ws:';
  return { http, ws, secure };
}

export interface TlsMaterial {
  ca?: string | Buffer;
  cert?: string;
  key?: string;
}

/** POSTs JSON and returns the answer's JSON; a non-200 answer throws with the cloud's message. */
export async function postJson(
  url: URL,
  body: unknown,
  tls: TlsMaterial,
  signal: AbortSignal,
  what: string,
): Promise<Record<string, unknown>> {
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]),
        ...(tls.ca ? { ca: tls.ca } : {}),
        ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
      },
      (res) => {
        let t = '';
        res.on('data', (c: Buffer) => (t += c.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: t }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* plain text */
  }
  if (status !== 200 || !parsed) {
    const message = typeof parsed?.message === 'string' ? parsed.message : text;
    throw new EdgeTwinError(
      status === 401 || status === 403 || status === 400 ? 'ET_CONFIG_INVALID' : 'ET_UNAVAILABLE',
      `${what}: ${status} ${message}`,
      { details: { status } },
    );
  }
  return parsed;
}

export function stringField(o: Record<string, unknown>, k: string, what: string): string {
  const v = o[k];
  if (typeof v !== 'string') throw new EdgeTwinError('ET_UNAVAILABLE', `${what}: the answer has no "${k}"`);
  return v;
}
