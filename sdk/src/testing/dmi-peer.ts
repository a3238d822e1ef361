/**
 * `DmiPeerMapper`: runs `peers/dmi-mapper.mjs`, a mapper process that speaks only KubeEdge's DMI
 * v1beta1 proto (@grpc/grpc-js and the .proto, no EdgeTwin code), and reads what it prints. Every
 * DeviceMapperService call it gets and every answer to its own calls is one JSON line; tests send it
 * commands (report twins, report a state, register again) as JSON lines on its stdin.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { waitFor } from './ports.js';

/** Absolute path of the proto-only mapper script. */
export const DMI_PEER_MAPPER = fileURLToPath(new URL('../../peers/dmi-mapper.mjs', import.meta.url));

/** A configData value as the peer unpacked it: the wrapper type's name and its value. */
export interface PeerConfigValue {
  type: string;
  value: unknown;
}

/** A Device as the peer received it (configData unpacked by type URL). */
export interface PeerDevice {
  name: string;
  namespace: string;
  model: string;
  protocol: { name: string; config: Record<string, PeerConfigValue> };
  properties: {
    name: string;
    desired?: string;
    collectCycle?: number;
    visitor: Record<string, PeerConfigValue>;
  }[];
}

/** One line the peer printed: a call it got (`call`) or the answer to one of its own (`op`). */
export interface PeerLine {
  call?: string;
  op?: 'register' | 'status' | 'state';
  ok?: boolean;
  /** gRPC status name of a failed call, e.g. ALREADY_EXISTS. */
  error?: string;
  details?: string;
  devices?: PeerDevice[];
  models?: string[];
  device?: PeerDevice;
  deviceName?: string;
  model?: string;
}

/** A twin as DMI's ReportDeviceStatus carries it. */
export interface PeerTwin {
  propertyName: string;
  reported: { value: string; metadata?: Record<string, string> };
}

export class DmiPeerMapper {
  readonly lines: PeerLine[] = [];
  readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (l) => this.lines.push(JSON.parse(l) as PeerLine));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /**
   * Starts the peer: it serves DeviceMapperService on `ownSocket` and registers with the
   * DeviceManagerService on `edgecoreSocket` as mapper `name` of `protocol`.
   */
  static start(
    edgecoreSocket: string,
    ownSocket: string,
    protocol = 'modbus',
    name = 'dmi-peer-mapper',
  ): DmiPeerMapper {
    const child = spawn(process.execPath, [DMI_PEER_MAPPER, edgecoreSocket, ownSocket, protocol, name], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    return new DmiPeerMapper(child);
  }

  send(cmd: Record<string, unknown>): void {
    this.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
  }

  /** Reports twins with ReportDeviceStatus. */
  reportTwins(namespace: string, name: string, twins: PeerTwin[]): void {
    this.send({ op: 'status', namespace, name, twins });
  }

  /** Reports a state with ReportDeviceStates (mapper-framework sends "OK", "offline", ...). */
  reportState(namespace: string, name: string, state: string): void {
    this.send({ op: 'state', namespace, name, state });
  }

  /** The first line from index `from` on that `pred` accepts. */
  async next(pred: (l: PeerLine) => boolean, from = 0, what = 'a line', timeoutMs = 20_000): Promise<PeerLine> {
    let found: PeerLine | undefined;
    await waitFor(() => (found = this.lines.slice(from).find(pred)) !== undefined, timeoutMs, what);
    return found!;
  }

  /** The answer to the next `op` call made after line index `from`. */
  answer(op: NonNullable<PeerLine['op']>, from: number, timeoutMs?: number): Promise<PeerLine> {
    return this.next((l) => l.op === op, from, `the answer to ${op}`, timeoutMs);
  }

  /** Every DeviceMapperService call of this name the peer got. */
  calls(name: string): PeerLine[] {
    return this.lines.filter((l) => l.call === name);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}
