/**
 * The load itself: calls arrive open loop (call i is due at start + i / rate, whatever became of
 * the earlier ones, so a slow deployment shows as latency, not as a lower offered rate). Each
 * call is played by the simulator as Teams would: invite, and once answered establishing,
 * established, the initial roster, roster changes at the churn rate, a remote hang-up after the
 * hold. Every call ends in exactly one outcome; anything but `ok` or `rejected` is mishandled.
 */
import type { SimCall, Simulator } from '@cr-orchestrator/teams-simulator';
import type { LoadgenOptions } from './args.js';

export type CallOutcome =
  /** answered in time, established, ended by the remote hang-up */
  | 'ok'
  /** declined by the deployment's policy (a reject is a decision, not a fault) */
  | 'rejected'
  /** no answer within the deadline */
  | 'missed'
  /** answered, then the call went wrong: a failed delivery, an end by the platform */
  | 'error';

export interface LoadSummary {
  offered: number;
  outcomes: Record<CallOutcome, number>;
  /** Calls that received more than one answer POST, or a repeated recording-status report. */
  duplicates: number;
  /** Invite sent → answer received by Graph, ms, of answered calls. */
  answerMs: { count: number; p50: number; p90: number; p99: number; max: number };
  /** Webhook POSTs the deployment did not answer 2xx. */
  failedDeliveries: number;
  notifications: number;
  /** How late the generator fired arrivals at p99, ms (large = the generator fell behind). */
  generatorLagP99Ms: number;
  /** Up to five calls that went wrong, with why. */
  examples: string[];
  /** Calls mishandled (missed, error or duplicated): the exit code is non-zero when > 0. */
  mishandled: number;
}

export interface Progress {
  elapsedS: number;
  placed: number;
  answered: number;
  live: number;
  missed: number;
  errors: number;
  duplicates: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1]!;
}

/** Call kinds in a fixed, evenly interleaved order following the weights. */
function kindPicker(mix: LoadgenOptions['mix']): (i: number) => 'p2p' | 'meeting' {
  const share = mix.meeting / (mix.p2p + mix.meeting);
  return (i) => (Math.floor((i + 1) * share) > Math.floor(i * share) ? 'meeting' : 'p2p');
}

interface Tracker {
  outcome: Map<string, CallOutcome>;
  examples: string[];
}

async function playCall(
  sim: Simulator,
  o: LoadgenOptions,
  kind: 'p2p' | 'meeting',
  duplicate: boolean,
  track: Tracker,
  calls: SimCall[],
  live: Set<string>,
): Promise<void> {
  const call = await sim.placeCall({ kind, duplicateNotifications: duplicate });
  calls.push(call);
  const fail = (outcome: CallOutcome, why: string) => {
    track.outcome.set(call.id, outcome);
    if (track.examples.length < 5) track.examples.push(`${call.id}: ${why}`);
  };
  try {
    await call.waitFor('established', o.answerDeadlineMs + 10_000);
  } catch {
    if (call.state === 'rejected' || call.reject) track.outcome.set(call.id, 'rejected');
    else if (!call.answer) fail('missed', `not answered (${call.result?.code ?? call.state})`);
    else fail('error', `answered but not established (${call.state}, ${call.result?.code ?? ''})`);
    return;
  }
  const answeredAfter = call.answer ? call.answer.at - call.invitedAt : Number.POSITIVE_INFINITY;
  if (answeredAfter > o.answerDeadlineMs) {
    fail('missed', `answered after ${answeredAfter} ms`);
    return;
  }
  live.add(call.id);
  try {
    const holdMs = o.holdS * 1000;
    const added: string[] = [];
    if (o.rosterChurn > 0) {
      const every = 1000 / o.rosterChurn;
      for (let at = every; at < holdMs; at += every) {
        await sleep(every);
        if (call.state !== 'established') break;
        if (added.length > 0 && added.length % 2 === 0)
          await call.removeParticipant(added.shift()!);
        else added.push((await call.addParticipant({ kind: 'user' })).id);
      }
      await sleep(holdMs % every);
    } else await sleep(holdMs);
    if (call.state !== 'established') {
      fail('error', `ended early (${call.result?.code ?? ''}/${call.result?.subcode ?? ''})`);
      return;
    }
    await call.hangUp();
    await call.waitFor('terminated', 10_000);
    track.outcome.set(call.id, 'ok');
  } catch (error) {
    fail('error', error instanceof Error ? error.message : String(error));
  } finally {
    live.delete(call.id);
  }
}

export async function runLoad(
  sim: Simulator,
  o: LoadgenOptions,
  onProgress?: (p: Progress) => void,
): Promise<LoadSummary> {
  const total = Math.max(1, Math.round(o.ratePerSec * o.durationS));
  const interval = 1000 / o.ratePerSec;
  const pick = kindPicker(o.mix);
  const track: Tracker = { outcome: new Map(), examples: [] };
  const calls: SimCall[] = [];
  const live = new Set<string>();
  const pending: Promise<void>[] = [];
  const lateness: number[] = [];
  let placeErrors = 0;
  const started = performance.now();
  const progress = (): Progress => {
    const values = [...track.outcome.values()];
    return {
      elapsedS: (performance.now() - started) / 1000,
      placed: calls.length,
      answered: calls.filter((c) => c.answer).length,
      live: live.size,
      missed: values.filter((v) => v === 'missed').length,
      errors: values.filter((v) => v === 'error').length + placeErrors,
      duplicates: calls.filter((c) => c.answerAttempts > 1).length,
    };
  };
  const ticker = onProgress ? setInterval(() => onProgress(progress()), 1000) : undefined;
  try {
    // a share of exactly `duplicates`, spread evenly (Bresenham), not left to chance
    const duplicated = (i: number) =>
      Math.floor((i + 1) * o.duplicates) > Math.floor(i * o.duplicates);
    for (let i = 0; i < total;) {
      const now = performance.now();
      while (i < total && started + i * interval <= now) {
        lateness.push(now - (started + i * interval));
        pending.push(
          playCall(sim, o, pick(i), duplicated(i), track, calls, live).catch((error: unknown) => {
            placeErrors += 1;
            if (track.examples.length < 5)
              track.examples.push(
                `invite ${i}: ${error instanceof Error ? error.message : String(error)}`,
              );
          }),
        );
        i += 1;
      }
      if (i < total) await sleep(Math.max(0, started + i * interval - performance.now()));
    }
    await Promise.all(pending);
  } finally {
    if (ticker) clearInterval(ticker);
    onProgress?.(progress());
  }
  return summarize(sim, calls, track, total, placeErrors, lateness);
}

function summarize(
  sim: Simulator,
  calls: SimCall[],
  track: Tracker,
  offered: number,
  placeErrors: number,
  lateness: number[],
): LoadSummary {
  const ids = new Set(calls.map((c) => c.id));
  const effects = new Map<string, number>();
  for (const r of sim.requests) {
    if (r.callId === undefined || !ids.has(r.callId) || r.status >= 300) continue;
    if (r.route !== 'answer' && r.route !== 'updateRecordingStatus') continue;
    const key = `${r.callId} ${r.route} ${(r.body as { status?: string } | undefined)?.status ?? ''}`;
    effects.set(key, (effects.get(key) ?? 0) + 1);
  }
  const duplicatedCalls = new Set(
    [...effects].filter(([, n]) => n > 1).map(([key]) => key.split(' ')[0]!),
  );
  for (const id of duplicatedCalls)
    if (track.examples.length < 5) track.examples.push(`${id}: a Graph effect repeated`);
  const deliveries = sim.deliveries.filter((d) => d.callId !== undefined && ids.has(d.callId));
  const failedDeliveries = deliveries.filter((d) => d.status < 200 || d.status >= 300);
  for (const d of failedDeliveries.slice(0, 5 - Math.min(5, track.examples.length)))
    track.examples.push(
      `${d.callId}: ${d.kind} delivery got ${d.status || d.error || 'no answer'}`,
    );
  const outcomes: Record<CallOutcome, number> = { ok: 0, rejected: 0, missed: 0, error: 0 };
  for (const call of calls) {
    // a call answered, ended well, but one of whose notifications the deployment refused
    let outcome = track.outcome.get(call.id) ?? 'error';
    if (outcome === 'ok' && failedDeliveries.some((d) => d.callId === call.id)) outcome = 'error';
    outcomes[outcome] += 1;
  }
  outcomes.error += placeErrors;
  const answered = calls
    .filter((c) => c.answer)
    .map((c) => c.answer!.at - c.invitedAt)
    .sort((a, b) => a - b);
  const sortedLate = [...lateness].sort((a, b) => a - b);
  return {
    offered,
    outcomes,
    duplicates: duplicatedCalls.size,
    answerMs: {
      count: answered.length,
      p50: quantile(answered, 0.5),
      p90: quantile(answered, 0.9),
      p99: quantile(answered, 0.99),
      max: answered.at(-1) ?? Number.NaN,
    },
    failedDeliveries: failedDeliveries.length,
    notifications: deliveries.length,
    generatorLagP99Ms: quantile(sortedLate, 0.99),
    examples: track.examples,
    mishandled: outcomes.missed + outcomes.error + duplicatedCalls.size,
  };
}
