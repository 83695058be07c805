/**
 * Server-sent events read with fetch + ReadableStream (an EventSource cannot send an
 * Authorization header, and the token must never go in a URL). The parser follows the HTML
 * standard's event-stream interpretation (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation);
 * the loop reconnects with a capped backoff and resumes after the last seen id (`Last-Event-ID`).
 */

export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

/** Longest line kept; a longer one is cut off (a hostile or broken stream cannot grow memory). */
export const MAX_LINE = 256 * 1024;

/** Feed text chunks in, get whole messages out. Comment lines (heartbeats) are dropped. */
export function createSseParser(onMessage: (message: SseMessage) => void) {
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  let skipNewline = false;

  const line = (text: string) => {
    if (text === '') {
      if (data.length > 0) onMessage({ id, event: event || 'message', data: data.join('\n') });
      event = '';
      data = [];
      return;
    }
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
    else if (field === 'id' && !value.includes('\0')) id = value;
  };

  return {
    push(chunk: string): void {
      for (let i = 0; i < chunk.length; i += 1) {
        const ch = chunk[i];
        if (skipNewline && ch === '\n') {
          skipNewline = false;
          continue;
        }
        skipNewline = false;
        if (ch === '\r' || ch === '\n') {
          line(buffer);
          buffer = '';
          skipNewline = ch === '\r';
        } else if (buffer.length < MAX_LINE) {
          buffer += ch;
        }
      }
    },
    /** The id to resume after (the last one seen in a dispatched or pending message). */
    lastId: () => id,
  };
}

export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface StreamOptions {
  url: string;
  token: string;
  onMessage(message: SseMessage): void;
  onStatus(status: StreamStatus): void;
  onUnauthorized(): void;
  /** The server could not resume after our id: what was missed must be read again. */
  onReset(): void;
  signal: AbortSignal;
  /** Resume after this id on the first connection too. */
  lastEventId?: string;
}

/** Waits between reconnects: the last value repeats. */
const BACKOFF_MS = [500, 1000, 2000, 5000, 10_000];

/** Runs until `signal` aborts or the token is refused. */
export async function followStream(options: StreamOptions): Promise<void> {
  let lastId = options.lastEventId;
  let failures = 0;
  const { signal } = options;
  while (!signal.aborted) {
    options.onStatus(failures === 0 ? 'connecting' : 'reconnecting');
    try {
      const headers: Record<string, string> = {
        authorization: `Bearer ${options.token}`,
        accept: 'text/event-stream',
      };
      if (lastId !== undefined) headers['last-event-id'] = lastId;
      const res = await fetch(options.url, { headers, signal });
      if (res.status === 401) {
        options.onStatus('stopped');
        options.onUnauthorized();
        return;
      }
      if (res.status === 400 && lastId !== undefined) {
        // an id the feed no longer knows (or never sent): start afresh and reload
        lastId = undefined;
        options.onReset();
        continue;
      }
      if (!res.ok || !res.body) throw new Error(`events answered ${res.status}`);
      failures = 0;
      const parser = createSseParser((message) => options.onMessage(message));
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      options.onStatus('live');
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.push(value);
        lastId = parser.lastId() ?? lastId;
      }
    } catch {
      if (signal.aborted) break;
    }
    failures += 1;
    options.onStatus('reconnecting');
    const wait = BACKOFF_MS[Math.min(failures - 1, BACKOFF_MS.length - 1)] ?? 10_000;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, wait);
      signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
  }
  options.onStatus('stopped');
}
