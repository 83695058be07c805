/**
 * The console's event-stream parser: messages with ids, events and multi-line data; comments
 * (heartbeats) dropped; CR, LF and CRLF line ends; the same messages however the bytes are cut
 * into chunks; an overlong line cut off instead of growing memory.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSseParser, MAX_LINE, type SseMessage } from '../../src/console/sse.js';

const parse = (chunks: string[]) => {
  const out: SseMessage[] = [];
  const parser = createSseParser((m) => out.push(m));
  for (const c of chunks) parser.push(c);
  return { out, lastId: parser.lastId() };
};

const STREAM =
  ': heartbeat\n\n' +
  'id: 17-0\nevent: transition\ndata: {"callId":"a","seq":1}\n\n' +
  'id: 18-0\r\nevent: transition\r\ndata: line one\r\ndata: line two\r\n\r\n' +
  'data: no id or event\r\r' +
  ': another heartbeat\n\n';

describe('console SSE parser', () => {
  it('reads ids, events and data, and drops comments', () => {
    const { out, lastId } = parse([STREAM]);
    expect(out).toEqual([
      { id: '17-0', event: 'transition', data: '{"callId":"a","seq":1}' },
      { id: '18-0', event: 'transition', data: 'line one\nline two' },
      { id: '18-0', event: 'message', data: 'no id or event' },
    ]);
    expect(lastId).toBe('18-0');
  });

  it('gives the same messages however the stream is cut into chunks', () => {
    const whole = parse([STREAM]).out;
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: STREAM.length }), { maxLength: 12 }),
        (cuts) => {
          const points = [0, ...cuts.sort((a, b) => a - b), STREAM.length];
          const chunks = points.slice(1).map((p, i) => STREAM.slice(points[i], p));
          expect(parse(chunks).out).toEqual(whole);
        },
      ),
    );
  });

  it('keeps no message until its blank line, and cuts overlong lines', () => {
    expect(parse(['id: 1\ndata: half']).out).toEqual([]);
    const { out } = parse([`data: ${'x'.repeat(MAX_LINE * 2)}\n\n`]);
    expect(out[0]?.data.length).toBeLessThanOrEqual(MAX_LINE);
  });
});
