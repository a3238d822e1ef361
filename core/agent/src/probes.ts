/**
 * Liveness and readiness probes (exec, httpGet, tcpSocket), with Kubernetes semantics: a probe
 * runs every `periodSeconds` after `initialDelaySeconds`, each try bounded by `timeoutSeconds`;
 * `failureThreshold` failures in a row flip it to failed, `successThreshold` successes back.
 */
import { connect } from 'node:net';
import { errorMessage } from '@edgetwin/sdk';
import type { Container, Probe } from './pod-schema.js';
import type { ContainerRuntime } from './runtime/types.js';

export interface ProbeResult {
  ok: boolean;
  message: string;
}

export interface ProbeTarget {
  runtime: ContainerRuntime;
  containerId: string;
  container: Container;
  /** Where http and tcp probes connect by default (pods here use the host network). */
  host: string;
}

function resolvePort(port: number | string, c: Container): number {
  if (typeof port === 'number') return port;
  const named = c.ports?.find((p) => p.name === port);
  if (named) return named.containerPort;
  const n = Number(port);
  if (Number.isInteger(n) && n > 0) return n;
  throw new Error(`no container port named "${port}"`);
}

export async function runProbe(probe: Probe, t: ProbeTarget): Promise<ProbeResult> {
  const timeoutMs = probe.timeoutSeconds * 1000;
  try {
    if (probe.exec) {
      const r = await t.runtime.exec(t.containerId, probe.exec.command, timeoutMs);
      return { ok: r.exitCode === 0, message: `exec exited ${r.exitCode}: ${r.output.trim().slice(0, 200)}` };
    }
    if (probe.httpGet) {
      const g = probe.httpGet;
      const url = `${(g.scheme ?? 'HTTP').toLowerCase()}://${g.host ?? t.host}:${resolvePort(g.port, t.container)}${g.path ?? '/'}`;
      const headers: Record<string, string> = { 'User-Agent': 'edgetwin-probe/1' };
      for (const h of g.httpHeaders ?? []) headers[h.name] = h.value;
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
      await res.body?.cancel();
      return { ok: res.status >= 200 && res.status < 400, message: `HTTP probe ${url} answered ${res.status}` };
    }
    if (probe.tcpSocket) {
      const port = resolvePort(probe.tcpSocket.port, t.container);
      const host = probe.tcpSocket.host ?? t.host;
      await tcpConnect(host, port, timeoutMs);
      return { ok: true, message: `tcp ${host}:${port} accepted` };
    }
    return { ok: false, message: 'probe has no handler' };
  } catch (err) {
    return { ok: false, message: errorMessage(err) };
  }
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, timeout: timeoutMs });
    s.once('connect', () => {
      s.destroy();
      resolve();
    });
    s.once('timeout', () => {
      s.destroy();
      reject(new Error(`tcp ${host}:${port} timed out after ${timeoutMs} ms`));
    });
    s.once('error', (err) => {
      s.destroy();
      reject(new Error(`tcp ${host}:${port}: ${err.message}`));
    });
  });
}

/** Counts results against the thresholds; `healthy` starts as given and flips on thresholds. */
export class ProbeState {
  private fails = 0;
  private oks = 0;
  healthy: boolean;
  lastMessage = '';

  constructor(
    readonly probe: Probe,
    initial: boolean,
  ) {
    this.healthy = initial;
  }

  /** Records a result; returns true when `healthy` changed. */
  record(r: ProbeResult): boolean {
    this.lastMessage = r.message;
    const before = this.healthy;
    if (r.ok) {
      this.fails = 0;
      this.oks++;
      if (this.oks >= this.probe.successThreshold) this.healthy = true;
    } else {
      this.oks = 0;
      this.fails++;
      if (this.fails >= this.probe.failureThreshold) this.healthy = false;
    }
    return before !== this.healthy;
  }
}
