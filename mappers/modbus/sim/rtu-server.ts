/**
 * Modbus RTU framing for the simulator on a serial port (or a pty from socat): unit id, PDU, CRC.
 * Frame lengths come from the function code; a bad CRC drops a byte to resynchronise, and a pause
 * in the middle of a frame discards it, as a real RTU slave does after the 3.5-character silence.
 */
import { SerialPort } from 'serialport';
import { crc16, withCrc } from './crc.js';
import type { SimSlave } from './slave.js';

export interface RtuServerHandle {
  path: string;
  close(): Promise<void>;
}

/** Bytes a request frame needs, or undefined when not enough has arrived to tell. */
function requestLength(buf: Buffer): number | undefined {
  const fn = buf[1];
  if (fn === undefined) return undefined;
  if (fn >= 1 && fn <= 6) return 8;
  if (fn === 15 || fn === 16) {
    const bc = buf[6];
    return bc === undefined ? undefined : 9 + bc;
  }
  return 4; // unknown function: unit, fn, crc; answered with exception 1 if the CRC fits
}

export async function startRtuServer(
  slaves: ReadonlyMap<number, SimSlave>,
  path: string,
  baudRate: number,
): Promise<RtuServerHandle> {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  let buf = Buffer.alloc(0);
  let silence: NodeJS.Timeout | undefined;
  port.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      const need = requestLength(buf);
      if (need === undefined || buf.length < need) break;
      const frame = buf.subarray(0, need);
      if (crc16(frame.subarray(0, need - 2)) !== frame.readUInt16LE(need - 2)) {
        buf = buf.subarray(1);
        continue;
      }
      buf = buf.subarray(need);
      const unit = frame[0] ?? 0;
      const pdu = Buffer.from(frame.subarray(1, need - 2));
      if (unit === 0) {
        for (const s of slaves.values()) s.handle(pdu); // broadcast: everyone acts, nobody answers
        continue;
      }
      const slave = slaves.get(unit);
      const answer = slave?.handle(pdu);
      if (!answer) continue;
      const reply = withCrc(Buffer.concat([Buffer.from([unit]), answer]));
      if (slave && slave.delayMs > 0) setTimeout(() => port.isOpen && port.write(reply), slave.delayMs).unref();
      else port.write(reply);
    }
    if (silence) clearTimeout(silence);
    if (buf.length > 0) {
      silence = setTimeout(() => (buf = Buffer.alloc(0)), 100);
      silence.unref();
    }
  });
  port.on('error', () => undefined);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        if (silence) clearTimeout(silence);
        if (!port.isOpen) {
          resolve();
          return;
        }
        port.close(() => resolve());
      }),
  };
}
