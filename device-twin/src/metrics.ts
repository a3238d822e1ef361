/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the
 * Prometheus text exposition format (version 0.0.4) for `GET /metrics`.
 */
export type Labels = Record<string, string>;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function labelKey(labels: Labels | undefined): string {
  if (!labels) return '';
  const keys = Object.keys(labels);
  // One label is the common case on hot paths (a counter per MQTT message): no sort, no arrays.
  if (keys.length === 1) return `${keys[0]}="${escapeLabel(labels[keys[0]!] ?? '')}"`;
  if (keys.length === 0) return '';
  return keys
    .sort()
    .map((k) => `${k}="${escapeLabel(labels[k] ?? '')}"`)
    .join(',');
}

const NEEDS_ESCAPE = /[\\\n"]/;

function escapeLabel(v: string): string {
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function fmt(n: number): string {
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

function series(name: string, key: string, extra = ''): string {
  const all = [key, extra].filter((s) => s !== '').join(',');
  return all === '' ? name : `${name}{${all}}`;
}

interface Metric {
  readonly name: string;
  readonly help: string;
  render(): string;
}

export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels?: Labels, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels?: Labels): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.values.size === 0) lines.push(`${this.name} 0`);
    for (const [k, v] of this.values) lines.push(`${series(this.name, k)} ${fmt(v)}`);
    return lines.join('\n');
  }
}

export class Gauge implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    /** When set, the value is read from here at render time. */
    public collect?: () => number,
  ) {}
  set(value: number, labels?: Labels): void {
    this.values.set(labelKey(labels), value);
  }
  inc(labels?: Labels, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  dec(labels?: Labels, by = 1): void {
    this.inc(labels, -by);
  }
  get(labels?: Labels): number {
    if (this.collect && !labels) return this.collect();
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    if (this.collect) lines.push(`${this.name} ${fmt(this.collect())}`);
    else if (this.values.size === 0) lines.push(`${this.name} 0`);
    for (const [k, v] of this.values) lines.push(`${series(this.name, k)} ${fmt(v)}`);
    return lines.join('\n');
  }
}

/** Default buckets in seconds, from 0.1 ms to 10 s. */
export const DEFAULT_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

export class Histogram implements Metric {
  private readonly data = new Map<string, { counts: number[]; sum: number; count: number }>();
  readonly buckets: readonly number[];
  constructor(
    readonly name: string,
    readonly help: string,
    buckets: readonly number[] = DEFAULT_BUCKETS,
  ) {
    this.buckets = [...buckets].sort((a, b) => a - b);
  }
  observe(value: number, labels?: Labels): void {
    const k = labelKey(labels);
    let d = this.data.get(k);
    if (!d) {
      d = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.data.set(k, d);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) d.counts[i]!++;
    d.sum += value;
    d.count++;
  }
  count(labels?: Labels): number {
    return this.data.get(labelKey(labels))?.count ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    const entries =
      this.data.size === 0 ? [['', { counts: this.buckets.map(() => 0), sum: 0, count: 0 }] as const] : [...this.data];
    for (const [k, d] of entries) {
      this.buckets.forEach((b, i) =>
        lines.push(`${series(`${this.name}_bucket`, k, `le="${fmt(b)}"`)} ${d.counts[i]}`),
      );
      lines.push(`${series(`${this.name}_bucket`, k, 'le="+Inf"')} ${d.count}`);
      lines.push(`${series(`${this.name}_sum`, k)} ${fmt(d.sum)}`);
      lines.push(`${series(`${this.name}_count`, k)} ${d.count}`);
    }
    return lines.join('\n');
  }
}

/**
 * Holds metrics by name. Asking twice for the same name returns the same metric, so independent
 * components can share one registry; asking for a name with another type throws.
 */
export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  counter(name: string, help: string): Counter {
    return this.getOrCreate(name, Counter, () => new Counter(name, help));
  }

  /** A gauge; with `collect` its value is read when rendered (e.g. a queue length). */
  gauge(name: string, help: string, collect?: () => number): Gauge {
    const g = this.getOrCreate(name, Gauge, () => new Gauge(name, help, collect));
    if (collect) g.collect = collect;
    return g;
  }

  histogram(name: string, help: string, buckets?: readonly number[]): Histogram {
    return this.getOrCreate(name, Histogram, () => new Histogram(name, help, buckets));
  }

  /** Prometheus text exposition format, ending with a newline. */
  render(): string {
    return [...this.metrics.values()].map((m) => m.render()).join('\n') + '\n';
  }

  private getOrCreate<T extends Metric>(name: string, cls: abstract new (...a: never[]) => T, make: () => T): T {
    if (!NAME.test(name)) throw new Error(`metric name ${JSON.stringify(name)} is not a valid Prometheus name`);
    const existing = this.metrics.get(name);
    if (existing) {
      if (!(existing instanceof cls)) throw new Error(`metric ${name} is already registered with another type`);
      return existing;
    }
    const m = make();
    this.metrics.set(name, m);
    return m;
  }
}
