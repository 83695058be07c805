/**
 * `GET /admin/api/events`: the live feed of committed transitions as server-sent events
 * (`event: transition`, `id:` the stream id, `data:` the transition), resumable with
 * `Last-Event-ID`, with a `: heartbeat` comment when nothing happened for a heartbeat interval.
 * It ends when the client goes away and when the ingress drains (`TransitionStreams.closeAll`).
 */
import type { Handler } from 'hono';
import { streamSSE } from 'hono/streaming';
import { STREAM_ID, type TransitionStreams } from '../admin/transition-streams.js';
import { CALL_ID_PATTERN } from '../redis/keys.js';
import { HttpError } from './http-error.js';
import type { Logger } from 'pino';

export function eventsRoute(
  streams: TransitionStreams | undefined,
  maxStreams: number,
  logger?: Logger,
): Handler {
  return (c) => {
    const after = c.req.header('last-event-id')?.trim() || undefined;
    if (after !== undefined && !STREAM_ID.test(after)) {
      throw new HttpError(
        400,
        'invalid_last_event_id',
        'Last-Event-ID is not an id this feed sent',
      );
    }
    const callId = c.req.query('callId');
    if (callId !== undefined && !CALL_ID_PATTERN.test(callId)) {
      throw new HttpError(400, 'invalid_call_id', 'not a call id');
    }
    if (!streams || streams.closed) {
      throw new HttpError(503, 'unavailable', 'the live feed is not available here');
    }
    if (streams.open >= maxStreams) {
      throw new HttpError(503, 'too_many_streams', `at most ${maxStreams} open event streams`, {
        'retry-after': '5',
      });
    }
    const controller = new AbortController();
    c.req.raw.signal.addEventListener('abort', () => controller.abort(), { once: true });
    return streamSSE(
      c,
      async (stream) => {
        stream.onAbort(() => controller.abort());
        const feed = streams.subscribe({ after, callId, signal: controller.signal });
        for await (const item of feed) {
          if (stream.aborted || stream.closed) break;
          // a first line once the feed's start point is fixed: a client that saw it misses
          // nothing committed afterwards (sent before that, a commit in between was lost)
          if (item.kind === 'open') await stream.write(': connected\n\n');
          else if (item.kind === 'heartbeat') await stream.write(': heartbeat\n\n');
          else if (item.kind === 'truncated')
            await stream.writeSSE({ event: 'truncated', data: '{}' });
          else
            await stream.writeSSE({
              id: item.id,
              event: 'transition',
              data: JSON.stringify(item.data),
            });
        }
      },
      async (error, stream) => {
        // Redis went away under the feed: say so and end; the client resumes with Last-Event-ID
        logger?.warn({ err: error.message }, 'admin event stream ended by an error');
        await stream.writeSSE({ event: 'error', data: JSON.stringify({ error: 'unavailable' }) });
      },
    );
  };
}
