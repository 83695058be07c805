/**
 * The orphan sweeper: a media session whose process died (SIGKILL, a lost
 * node) stays `streaming` in Redis, and if its peer never resumes, nothing else would tell the
 * call or finalize the recording. Every media process runs this loop:
 *
 * - it refreshes its own liveness key (`media-owner:<owner>`, PX = `ownerTtlMs`) every
 *   `intervalMs`, and deletes it on close;
 * - for each call in the `media-open` index whose owner's liveness key is gone:
 *   `streaming` → `lost` (compare-and-set on sessionId, state and owner, so a resume that got
 *   there first wins) and MEDIA.LOST; `lost` for longer than the reconnect window → `ended`
 *   (`endIfStillLost`, atomic: one sweeper wins), MEDIA.FAULT, the unresumed time noted as a
 *   gap and the recording finalized from disk; `ended` or gone → dropped from the index.
 *
 * A session whose owner is alive is left alone: the owner runs its own reconnect window
 * (session.ts). A process that cannot refresh its key for `ownerTtlMs` (Redis unreachable, a
 * blocked event loop) is taken for dead; its sessions then end as faults, as they would if it
 * had died. Assumes process clocks agree to well within the reconnect window (`lostAt` is
 * writer time).
 */
import type { Logger } from 'pino';
import type { CallEvent } from '../../machines/call.js';
import { every } from '../process/periodic.js';
import { ATTR, withSpan } from '../telemetry/index.js';
import type { Recording } from './recording/index.js';
import type { MediaSessionStore, StoredSession } from './session-store.js';

/** Same words as session.ts, so a call cannot tell which process ended its media. */
const DIED = 'media process died';
const BEYOND_WINDOW = 'media lost beyond the reconnect window';

export interface OrphanSweeperOptions {
  /** This process's owner id (what session.ts stores in the media hash). */
  owner: string;
  store: MediaSessionStore;
  /** MEDIA_RECONNECT_WINDOW_MS: how long a lost session waits for its peer. */
  reconnectWindowMs: number;
  /** Liveness refresh and sweep interval. @default reconnectWindowMs / 3, within 100..1000 */
  intervalMs?: number;
  /** PX of the liveness key. @default 3 × intervalMs */
  ownerTtlMs?: number;
  /** Calls looked at per pass. @default 1000 */
  batch?: number;
  /** The call's recording if one exists on disk; never creates one (nothing before consent). */
  existingRecording(callId: string): Promise<Recording | undefined>;
  /** Report to the call (through its `applyEvent`); never throws. */
  report(callId: string, event: CallEvent): Promise<void>;
  logger: Logger;
  now?: () => number;
}

export interface OrphanSweeper {
  /** One pass over the open sessions. */
  sweep(): Promise<void>;
  /** Stop both loops and delete the liveness key. Memoized. */
  close(): Promise<void>;
}

/** The sweep interval for a reconnect window: about 1 s, shorter for short windows (tests). */
export function orphanSweepIntervalMs(reconnectWindowMs: number): number {
  return Math.min(1000, Math.max(100, Math.floor(reconnectWindowMs / 3)));
}

/** Starts once the liveness key is set, so no session of this process ever looks orphaned. */
export async function startOrphanSweeper(o: OrphanSweeperOptions): Promise<OrphanSweeper> {
  const { owner, store, logger } = o;
  const intervalMs = o.intervalMs ?? orphanSweepIntervalMs(o.reconnectWindowMs);
  const ownerTtlMs = o.ownerTtlMs ?? 3 * intervalMs;
  const batch = o.batch ?? 1000;
  const now = o.now ?? Date.now;

  await store.keepAlive(owner, ownerTtlMs);

  async function finalize(callId: string, lostAt: number, endedAt: number): Promise<void> {
    try {
      const recording = await o.existingRecording(callId);
      if (!recording) return;
      await recording.noteGap(lostAt, endedAt, BEYOND_WINDOW);
      await recording.finalize();
    } catch (error) {
      logger.error({ err: error, callId }, 'orphaned media: finalising the recording failed');
    }
  }

  async function sweepCall(
    callId: string,
    s: StoredSession,
    alive: (owner: string) => Promise<boolean>,
  ): Promise<void> {
    if (s.owner === owner || (await alive(s.owner))) return; // its owner runs its own window
    if (s.state === 'streaming') {
      const at = now();
      if (!(await store.markLostIfOwned(callId, s.sessionId, s.owner, at))) return;
      logger.warn({ callId, owner: s.owner }, 'media session orphaned: its process died');
      await report(callId, { type: 'MEDIA.LOST', at, reason: DIED }, 'lost');
      return;
    }
    if (s.state !== 'lost' || s.lostAt === undefined) return;
    if (now() - s.lostAt < o.reconnectWindowMs) return;
    if (!(await store.endIfStillLost(callId, s.sessionId, s.lostAt))) return; // another won
    const endedAt = now();
    logger.warn({ callId, owner: s.owner }, 'orphaned media session ended; finalising');
    await report(callId, { type: 'MEDIA.FAULT', at: endedAt, reason: BEYOND_WINDOW }, 'fault');
    await finalize(callId, s.lostAt, endedAt);
  }

  function report(callId: string, event: CallEvent, state: string): Promise<void> {
    const attributes = {
      [ATTR.callId]: callId,
      [ATTR.mediaState]: state,
      [ATTR.mediaReason]: 'reason' in event ? event.reason : '',
    };
    return withSpan(`media.orphan ${state}`, { attributes }, () => o.report(callId, event));
  }

  async function sweep(): Promise<void> {
    const owners = new Map<string, Promise<boolean>>(); // one EXISTS per owner and pass
    const alive = (id: string) => {
      let known = owners.get(id);
      if (!known) owners.set(id, (known = store.ownerAlive(id)));
      return known;
    };
    for (const { callId, score } of await store.openSessions(batch)) {
      try {
        const session = await store.read(callId);
        if (!session || session.state === 'ended') await store.forget(callId, score);
        else await sweepCall(callId, session, alive);
      } catch (error) {
        logger.warn({ err: error, callId }, 'orphan sweep of a call failed; next pass retries');
      }
    }
  }

  const loop = every(intervalMs, sweep, logger, 'orphan sweep');
  let stopped = false;
  const aliveTimer = setInterval(() => {
    if (stopped) return;
    store
      .keepAlive(owner, ownerTtlMs)
      .catch((error: unknown) => logger.warn({ err: error }, 'media liveness refresh failed'));
  }, intervalMs);
  aliveTimer.unref();

  let closed: Promise<void> | undefined;
  return {
    sweep,
    close: () =>
      (closed ??= (async () => {
        stopped = true;
        clearInterval(aliveTimer);
        await loop.close();
        await store.release(owner).catch(() => undefined);
      })()),
  };
}
