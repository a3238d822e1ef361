/** A small server-sent-events reader over fetch, for tests. */
export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

export class SseClient {
  readonly events: SseEvent[] = [];
  private readonly ac = new AbortController();
  private done: Promise<void> | undefined;
  status = 0;

  constructor(
    private readonly url: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  async open(): Promise<this> {
    const res = await fetch(this.url, { headers: this.headers, signal: this.ac.signal });
    this.status = res.status;
    if (!res.body) return this;
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    this.done = (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buf += decoder.decode(value as Uint8Array, { stream: true });
          let i: number;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const ev: SseEvent = { event: 'message', data: '' };
            let hasData = false;
            for (const line of block.split('\n')) {
              if (line.startsWith('id: ')) ev.id = line.slice(4);
              else if (line.startsWith('event: ')) ev.event = line.slice(7);
              else if (line.startsWith('data: ')) {
                ev.data += line.slice(6);
                hasData = true;
              }
            }
            if (hasData) this.events.push(ev);
          }
        }
      } catch {
        // aborted
      }
    })();
    return this;
  }

  /** Resolves when the server ends the stream. */
  get ended(): Promise<void> {
    return this.done ?? Promise.resolve();
  }

  close(): Promise<void> {
    this.ac.abort();
    return this.done ?? Promise.resolve();
  }
}
