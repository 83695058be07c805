/**
 * `applyEvent(callId, event)`: the one path by which anything changes a call
 * (docs/architecture.md#one-path-for-every-event). load snapshot + version → xstate `transition()`
 * (pure) → Lua compare-and-set commit that also claims the dedup token and writes the effects to
 * the outbox → enqueue the effects to BullMQ with deterministic ids → drop them from the outbox. A
 * version conflict (another replica committed first) reloads and retries. An invite skips the
 * load: its call is new unless the commit's version check says otherwise.
 */
import type { Rider } from '../redis/rider.js';
import { randomInt } from 'node:crypto';
import { createActor, initialTransition, transition, type SnapshotFrom } from 'xstate';
import { callMachine, type CallEvent } from '../../machines/call.js';
import { callRecord, type CallRecord } from './call-record.js';
import { callSummary, failureFactsOf, failureOf } from './call-summary.js';
import { logTransition, type TransitionEvent, type TransitionFeed } from './transition-feed.js';
import { historyEntry } from './history.js';
import { toEffectRecords } from './effects.js';
import { KeyedMutex } from './keyed-mutex.js';
import { activeCallsKey } from '../redis/keys.js';
import type { DeferredStart, SnapshotStore, StoredCall } from './snapshot-store.js';
import type { EffectQueues } from '../queues/producer.js';
import { ACTIVE_CALLS, type EffectRecord } from '../queues/jobs.js';
import {
  ATTR,
  callInstruments,
  currentCarrier,
  linkTo,
  withSpan,
  type CallInstruments,
} from '../telemetry/index.js';
import { isSpanContextValid, type Span } from '@opentelemetry/api';
import type { Logger } from 'pino';

export type CallSnapshot = SnapshotFrom<typeof callMachine>;

export type ApplyResult =
  | {
      outcome: 'committed';
      version: number;
      from: string;
      to: string;
      effects: number;
      conflicts: number;
    }
  | { outcome: 'duplicate' }
  | { outcome: 'ignored'; state: string }
  /** The call belongs to another tenant than `ApplyOptions.tenantId`: nothing was written. */
  | { outcome: 'foreign-tenant' };

export interface ApplyOptions {
  /** Identity of the delivery (notification content hash, job id); a repeat is a no-op. */
  dedupId?: string;
  /**
   * The tenant the caller is authenticated as: an event for a call of another tenant is
   * refused before anything is written (a tenant's token must never change another's call).
   */
  tenantId?: string;
}

export interface CallRuntime {
  applyEvent(callId: string, event: CallEvent, options?: ApplyOptions): Promise<ApplyResult>;
  /** The current snapshot, or undefined for an unknown call. */
  getCall(callId: string): Promise<{ version: number; snapshot: CallSnapshot } | undefined>;
  /** Calls that are live (answering … established). */
  activeCallCount(): Promise<number>;
  /** The compact record of a finished call (kept longer than its full state). */
  getRecord(callId: string): Promise<CallRecord | undefined>;
}

export interface CallRuntimeDeps {
  prefix: string;
  store: SnapshotStore;
  queues: Pick<EffectQueues, 'enqueue'>;
  /** @default 8 */
  maxConflictRetries?: number;
  onEnqueueError?: (error: unknown, callId: string) => void;
  /** @default callInstruments() on the global meter */
  instruments?: CallInstruments;
  /**
   * Called between a commit and the enqueue of its effects. Fault injection only: a test makes
   * the process die exactly there (config `FAULT_CRASH_AFTER_COMMIT`).
   */
  afterCommit?: (callId: string, event: CallEvent) => void;
  /** Where each committed transition is published for the operator's live feed. */
  feed?: TransitionFeed;
  /** One info line per committed transition, a warning when a call fails. */
  logger?: Logger;
  /**
   * Keep a timer start due at least twice `leadMs` away with its call instead of handing it to
   * BullMQ now: a sweeper hands it over `leadMs` before it is due (the sweepers visit a call
   * `graceMs` after its index score), and a cancel committed before that drops it, so a timer
   * that is disarmed soon (an answer deadline, a call's keep-alive) costs BullMQ nothing.
   * Absent: every start goes to BullMQ at once.
   */
  deferTimers?: { leadMs: number; graceMs: number };
}

export class ConflictError extends Error {
  override name = 'ConflictError';
}

/** Dotted name of a (possibly nested) state value: `live.established.recording`. */
export function stateName(snapshot: Pick<CallSnapshot, 'value'>): string {
  const parts: string[] = [];
  let value: unknown = snapshot.value;
  while (typeof value === 'object' && value !== null) {
    const [key, inner] = Object.entries(value)[0] ?? [];
    if (key === undefined) break;
    parts.push(key);
    value = inner;
  }
  if (typeof value === 'string') parts.push(value);
  return parts.join('.');
}

/** The trace id of a recording span, or undefined when tracing is off. */
function traceIdOf(span: Span): string | undefined {
  const context = span.spanContext();
  return isSpanContextValid(context) ? context.traceId : undefined;
}

/** A call snapshot as the machine persists it (and JSON keeps it). */
interface PersistedCall {
  status: CallSnapshot['status'];
  output?: CallSnapshot['output'];
  error?: unknown;
  value: CallSnapshot['value'];
  historyValue: Record<string, unknown>;
  context: CallSnapshot['context'];
  children: Record<string, unknown>;
}

const isEmpty = (o: object | undefined): boolean => {
  for (const _ in o) return false;
  return true;
};

/** No child actors and no history: the snapshot is its value, context and status. */
const plain = (s: { children?: object; historyValue?: object }): boolean =>
  isEmpty(s.children) && isEmpty(s.historyValue);

/**
 * A stored snapshot as the machine's snapshot. The call machine has no child actors and no
 * history states, so what it persists is its state value, context and status, and
 * `resolveState` rebuilds the snapshot from those at a third of the cost of restoring it
 * through an actor (which also walks the whole context for actor references). A snapshot that
 * does hold children or history (a machine that gained them) takes the actor's path, which
 * revives them.
 */
export function restoreSnapshot(json: unknown): CallSnapshot {
  const stored = json as PersistedCall;
  if (!plain(stored)) {
    return createActor(callMachine, { snapshot: stored as unknown as CallSnapshot }).getSnapshot();
  }
  const { value, context, status, output, error } = stored;
  return callMachine.resolveState({ value, context, status, output, error });
}

/**
 * What `callMachine.getPersistedSnapshot` returns, field for field and in its key order, without
 * its walk of the whole context for actor references to replace (the call machine keeps none
 * there). With children or history it is the machine's own.
 */
export function persistSnapshot(snapshot: CallSnapshot): PersistedCall {
  if (!plain(snapshot)) {
    return callMachine.getPersistedSnapshot(snapshot) as PersistedCall;
  }
  const { status, output, error, value, context } = snapshot;
  return { status, output, error, value, historyValue: {}, context, children: {} };
}

/** The live-calls index changes a transition implies, as outbox effects (crash-safe). */
function indexEffects(callId: string, from: CallSnapshot, to: CallSnapshot): EffectRecord[] {
  if (to.status === 'done') {
    return [{ queue: ACTIVE_CALLS, name: 'ended', jobId: `${callId}-ended`, callId }];
  }
  if (from.value !== 'idle') return [];
  // 'started' also lists the call among the recent calls, by the time its invite arrived
  const at = to.context.receivedAt;
  return [
    {
      queue: ACTIVE_CALLS,
      name: 'started',
      jobId: `${callId}-started`,
      callId,
      ...(at !== undefined ? { at } : {}),
    },
  ];
}

/** What `load` returns for a call that was never stored. */
const NEW_CALL: StoredCall = { version: 0, snapshot: undefined };

export function createCallRuntime(deps: CallRuntimeDeps): CallRuntime {
  const mutex = new KeyedMutex();
  const maxRetries = deps.maxConflictRetries ?? 8;
  const initial = (): CallSnapshot => initialTransition(callMachine)[0];
  const metrics = deps.instruments ?? callInstruments();
  const announceFraction = (1 + randomInt(999)) / 1000;

  /**
   * One attempt. With `guessNew`, the call is taken to be new without loading it (an invite's
   * usual case, one round trip less on the answer's path): if it exists after all, the commit's
   * version check refuses (or its dedup token calls it a duplicate) and the caller retries with
   * a load ('guessed-wrong').
   */
  async function once(
    callId: string,
    event: CallEvent,
    options: ApplyOptions,
    conflicts: number,
    span: Span,
    guessNew: boolean,
  ): Promise<ApplyResult | 'conflict' | 'guessed-wrong'> {
    const stored: StoredCall = guessNew ? NEW_CALL : await deps.store.load(callId);
    // a later event of a call links to the call's first trace rather than joining it
    if (conflicts === 0) span.addLinks(linkTo(stored.trace, { 'cr.link': 'call-first-trace' }));
    const current = stored.snapshot === undefined ? initial() : restoreSnapshot(stored.snapshot);
    const seen = (result: ApplyResult, call = current.context): ApplyResult => {
      observe(span, event, result, call);
      return result;
    };
    const owner = current.context.invite?.tenantId;
    if (options.tenantId !== undefined && owner !== undefined && owner !== options.tenantId) {
      return seen({ outcome: 'foreign-tenant' });
    }
    const [next, actions] = transition(callMachine, current, event);
    // nothing to commit means nothing to check the guess with: look at the stored call
    if (next === current && guessNew) return 'guessed-wrong';
    if (next === current) {
      // a copy of a committed delivery is a duplicate, whatever the machine makes of it now
      if (options.dedupId && (await deps.store.seen(callId, options.dedupId))) {
        return seen({ outcome: 'duplicate' });
      }
      return seen({ outcome: 'ignored', state: stateName(current) });
    }
    const tenantId = next.context.invite?.tenantId;
    if (tenantId) span.setAttribute(ATTR.tenantId, tenantId);
    const version = stored.version + 1;
    const { effects, deferred } = deferLater([
      ...toEffectRecords(callId, actions),
      ...indexEffects(callId, current, next),
    ]);
    const done = next.status === 'done';
    const from = stateName(current);
    const to = stateName(next);
    const record = done ? callRecord(next.context, to, version, event.at) : undefined;
    const traceId = traceIdOf(span);
    const history = historyEntry(version, event, from, to, traceId);
    const summary = callSummary(next.context, to, event.at);
    // this process's fraction of a ms tells its announcements from another's of the same ms
    const announceAt =
      effects.length > 0 || deferred.length > 0 ? Date.now() + announceFraction : undefined;
    const result = await deps.store.commit({
      callId,
      expectedVersion: stored.version,
      snapshot: persistSnapshot(next),
      state: to,
      done,
      persist: next.context.recording.persist,
      stopGen: next.context.recording.stop?.gen,
      ...(record ? { record } : {}),
      ...(options.dedupId ? { dedupId: options.dedupId } : {}),
      effects,
      ...(deferred.length > 0 ? { deferred } : {}),
      trace: stored.version === 0 ? currentCarrier() : undefined,
      history,
      ...(summary ? { summary } : {}),
      // Announce the effects before committing them (same round trip): if this process dies
      // between the commit and the enqueue, any replica's sweeper finds the call in the index
      // (docs/architecture.md#effects-follow-commits).
      announceAt,
    });
    if (result.kind === 'duplicate') return seen({ outcome: 'duplicate' }, next.context);
    if (result.kind === 'conflict') return guessNew ? 'guessed-wrong' : 'conflict';
    deps.afterCommit?.(callId, event);
    const committed: TransitionEvent = {
      callId,
      tenantId: tenantId ?? '',
      live: !done,
      ...history,
    };
    // Published without waiting, with the next round trip: the answer path never waits for the
    // live feed, and one process's transitions of a call stay in order.
    deps.feed?.publishSoon(committed);
    try {
      // The jobs go to BullMQ now; the index writes and checks that follow them ride with a
      // later round trip, and the outbox entry is acknowledged once they succeeded (at most
      // about two of the store's ackDelayMs later).
      const riders: Rider[] = [];
      const ride = deps.store.ridesWrites ? (rider: Rider) => riders.push(rider) : undefined;
      // Side by side: the jobs of one transition are independent (each timer arming has its
      // own job id, a cancel overtaking its start is handled by the cancel memory), so the
      // reply waits for one round trip rather than one per effect.
      // a cancel whose start was still deferred dropped it: BullMQ never had it
      const dropped = new Set(result.dropped);
      const toEnqueue = dropped.size > 0 ? effects.filter((e) => !dropped.has(e.jobId)) : effects;
      await Promise.all(toEnqueue.map((effect) => deps.queues.enqueue(effect, ride)));
      // the acknowledgement also drops the call from the outbox index once its outbox is empty
      deps.store.ackOutboxSoon(callId, result.outboxIds, riders, announceAt);
    } catch (error) {
      // The effects stay in the outbox; the commit stands and the sweeper re-drives them.
      deps.onEnqueueError?.(error, callId);
    }
    if (deps.logger) {
      const failedBefore = failureOf(failureFactsOf(current.context, from)) !== undefined;
      logTransition(deps.logger, committed, summary?.failure, failedBefore);
    }
    return seen(
      {
        outcome: 'committed',
        version: result.version,
        from,
        to,
        effects: effects.length + deferred.length,
        conflicts,
      },
      next.context,
    );
  }

  /** Splits the timer starts due much later (`deferTimers`) from the effects to enqueue now. */
  function deferLater(all: EffectRecord[]): { effects: EffectRecord[]; deferred: DeferredStart[] } {
    const defer = deps.deferTimers;
    if (!defer) return { effects: all, deferred: [] };
    const now = Date.now();
    const effects: EffectRecord[] = [];
    const deferred: DeferredStart[] = [];
    for (const effect of all) {
      if ('fireAt' in effect && effect.fireAt - now >= 2 * defer.leadMs) {
        deferred.push({ effect, score: effect.fireAt - defer.leadMs - defer.graceMs });
      } else effects.push(effect);
    }
    return { effects, deferred };
  }

  /** The span's story of one applyEvent, and the invite outcome metrics. */
  function observe(
    span: Span,
    event: CallEvent,
    result: ApplyResult,
    call: CallSnapshot['context'],
  ): void {
    if (result.outcome === 'duplicate') {
      metrics.commitDuplicates.add(1, { [ATTR.outcome]: 'duplicate' });
      span.setAttribute(ATTR.outcome, 'duplicate');
      return;
    }
    if (result.outcome === 'foreign-tenant') {
      span.setAttribute(ATTR.outcome, 'foreign-tenant');
      return;
    }
    if (result.outcome === 'ignored') {
      // a repeated or late notification the machine has nothing to do with
      metrics.commitDuplicates.add(1, { [ATTR.outcome]: 'ignored' });
      span.setAttributes({ [ATTR.outcome]: 'ignored', [ATTR.fromState]: result.state });
      return;
    }
    span.setAttributes({
      [ATTR.outcome]: result.conflicts > 0 ? 'conflict-retried' : 'committed',
      [ATTR.conflicts]: result.conflicts,
      [ATTR.fromState]: result.from,
      [ATTR.toState]: result.to,
      [ATTR.version]: result.version,
      [ATTR.effects]: result.effects,
    });
    if (event.type === 'GRAPH.ANSWER_ACCEPTED') {
      metrics.invites.add(1, { outcome: 'answered' });
      if (call.receivedAt !== undefined) metrics.answerLatency.record(event.at - call.receivedAt);
    } else if (result.to === 'rejected') {
      metrics.invites.add(1, { outcome: 'rejected' });
    } else if (result.to === 'failed') {
      metrics.invites.add(1, { outcome: 'failed' });
      if (call.failure?.reason === 'answer-deadline-missed') metrics.deadlineMisses.add(1);
    }
  }

  return {
    applyEvent(callId, event, options = {}) {
      const attributes = { [ATTR.callId]: callId, [ATTR.eventType]: event.type };
      return withSpan(`applyEvent ${event.type}`, { attributes }, (span) =>
        mutex.run(callId, async () => {
          // an invite is almost always for a call nobody has stored yet
          let guessNew = event.type === 'CALL.INCOMING';
          for (let conflicts = 0; conflicts <= maxRetries;) {
            const result = await once(callId, event, options, conflicts, span, guessNew);
            if (result !== 'conflict' && result !== 'guessed-wrong') return result;
            if (result === 'conflict') {
              metrics.commitConflicts.add(1);
              conflicts += 1;
              await new Promise((r) => setTimeout(r, Math.random() * 5 * conflicts));
            }
            // a wrong guess is no conflict with another writer: load and try again at once
            guessNew = false;
          }
          throw new ConflictError(`call ${callId}: still conflicting after ${maxRetries} retries`);
        }),
      );
    },

    async getCall(callId) {
      const stored = await deps.store.load(callId);
      if (stored.snapshot === undefined) return undefined;
      return { version: stored.version, snapshot: restoreSnapshot(stored.snapshot) };
    },

    async activeCallCount() {
      // this process's index writes still waiting (riders) go first, in the same round trip
      const [reply] = await deps.store.sendAfterPending(
        (p) => (p.zcard(activeCallsKey(deps.prefix)), 1),
      );
      if (!reply) throw new Error('no reply to ZCARD');
      if (reply[0]) throw reply[0];
      return Number(reply[1]);
    },

    async getRecord(callId) {
      return (await deps.store.loadRecord(callId)) as CallRecord | undefined;
    },
  };
}
