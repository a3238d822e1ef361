/** Seeded random inputs for the entry-point fuzz test: JSON values, payloads, paths, headers. */

/** mulberry32: a small seeded PRNG, so a failing run can be repeated with its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Fuzz {
  constructor(readonly rand: () => number) {}

  int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  string(max = 40): string {
    const alphabet = ['a', 'Z', '0', ' ', '"', '\\', '/', '%', '#', '+', '$', 'é', '\u0000', '\ud800', '😀', '{', '['];
    let s = '';
    const n = this.int(max);
    for (let i = 0; i < n; i++) s += this.pick(alphabet);
    return s;
  }

  /** Any JSON text: scalars, long strings, deep or wide arrays and objects. */
  json(): string {
    switch (this.int(10)) {
      case 0:
        return '['.repeat(1 + this.int(6000)) + ']'.repeat(this.int(6000));
      case 1: {
        const d = 1 + this.int(6000);
        return '{"a":'.repeat(d) + '1' + '}'.repeat(d);
      }
      case 2:
        return JSON.stringify('x'.repeat(this.pick([0, 511, 512, 513, 5000, 300_000])));
      case 3:
        return this.pick(['1e308', '-1e309', '-0', '9007199254740993', '0.1', '1.5', 'true', 'null', '"21"', '""']);
      case 4:
        return JSON.stringify(this.value(3));
      case 5:
        return this.string(60); // mostly not JSON
      case 6:
        return `[${Array.from({ length: this.int(3000) }, () => this.int(100)).join(',')}]`;
      default:
        return JSON.stringify(this.value(2));
    }
  }

  value(depth: number): unknown {
    const k = this.int(depth > 0 ? 8 : 5);
    switch (k) {
      case 0:
        return this.int(100) - 50;
      case 1:
        return this.string();
      case 2:
        return this.rand() < 0.5;
      case 3:
        return null;
      case 4:
        return this.rand() * 1e6;
      case 5:
        return Array.from({ length: this.int(4) }, () => this.value(depth - 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = this.int(4); i > 0; i--)
          o[this.pick(['setpoint', 'mode', 'power', 'temperature', this.string(10)])] = this.value(depth - 1);
        return o;
      }
    }
  }

  /** A `$hw` twin/update-like payload, sometimes well formed around a bad value. */
  twinUpdate(): string {
    if (this.rand() < 0.3) return this.json();
    const side = this.pick(['expected', 'actual']);
    const prop = this.pick(['setpoint', 'mode', 'power', 'temperature', this.string(20)]);
    const raw = this.json();
    return `{"event_id":"fz-${this.int(1e6)}","timestamp":${this.int(1e13)},"twin":{${JSON.stringify(prop)}:{"${side}":{"value":${raw}},"metadata":{"type":${JSON.stringify(this.pick(['int', 'string', 'float', 'boolean', 'deleted', this.string(5)]))}}}}}`;
  }

  /** Random bytes, sometimes invalid UTF-8. */
  bytes(): Buffer {
    return Buffer.from(Array.from({ length: this.int(200) }, () => this.int(256)));
  }
}
