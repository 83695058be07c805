/**
 * The orchestrator's metrics, created from the global meter when a component is
 * built — after the SDK started — so they bind to the real provider (the metrics API has no
 * late-binding proxy). Without an SDK they are no-ops.
 */
import {
  metrics,
  type Counter,
  type Histogram,
  type MeterProvider,
  type UpDownCounter,
} from '@opentelemetry/api';
import { METRIC, SCOPE } from './attributes.js';

/** `provider` lets a test read one component's instruments; by default the global meter. */
const meter = (provider?: MeterProvider) => (provider ?? metrics).getMeter(SCOPE);
/** Latency buckets (ms) around the 5 s answer deadline. */
const LATENCY_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2000, 3000, 4000, 5000, 10_000];

export interface CallInstruments {
  /** Invites by outcome: answered, rejected, failed. */
  invites: Counter;
  /** Notification received → Graph accepted the answer. */
  answerLatency: Histogram;
  /** Invites that failed because the answer deadline passed. */
  deadlineMisses: Counter;
  commitConflicts: Counter;
  /** Deliveries that changed nothing: `duplicate` (dedup token) or `ignored` (late, repeated). */
  commitDuplicates: Counter;
}

export function callInstruments(): CallInstruments {
  const m = meter();
  return {
    invites: m.createCounter(METRIC.invites, { description: 'Policy invites by outcome' }),
    answerLatency: m.createHistogram(METRIC.answerLatency, {
      description: 'Notification received to Graph accepting the answer',
      unit: 'ms',
      advice: { explicitBucketBoundaries: LATENCY_MS },
    }),
    deadlineMisses: m.createCounter(METRIC.deadlineMisses, {
      description: 'Invites failed because the answer deadline passed',
    }),
    commitConflicts: m.createCounter(METRIC.commitConflicts, {
      description: 'Commits retried because another replica committed first',
    }),
    commitDuplicates: m.createCounter(METRIC.commitDuplicates, {
      description: 'Events that changed nothing: duplicates (dedup token) and ignored repeats',
    }),
  };
}

/** Roster entries the ingress's limits cut, by ATTR.rosterCut (`participants` or `ids`). */
export function rosterCutCounter(): Counter {
  return meter().createCounter(METRIC.rosterCut, {
    description: 'Participants and ids dropped from roster notifications by the roster limits',
  });
}

export interface JobInstruments {
  /** Graph effects given up because their deadline passed, by operation. */
  effectsExpired: Counter;
  /** Time a job waited in its queue past the moment it was due. */
  queueWait: Histogram;
  /** Jobs a stall check took back from a worker that stopped renewing their lock, by queue. */
  takenBack: Counter;
}

export function jobInstruments(): JobInstruments {
  const m = meter();
  return {
    effectsExpired: m.createCounter(METRIC.effectsExpired, {
      description: 'Graph effects abandoned at their deadline, by operation',
    }),
    queueWait: m.createHistogram(METRIC.queueWait, {
      description: 'Time from a job being due to a worker starting it',
      unit: 'ms',
      advice: { explicitBucketBoundaries: LATENCY_MS },
    }),
    takenBack: m.createCounter(METRIC.jobsTakenBack, {
      description: 'Jobs taken back from a worker that stopped renewing their lock, by queue',
    }),
  };
}

export interface MediaInstruments {
  streams: UpDownCounter;
  /** Sessions welcomed, by ATTR.handshakeOutcome (`accepted` or `resumed`). */
  sessions: Counter;
  framesWritten: Counter;
  /** By ATTR.dropReason (src/media/telemetry.ts `DropReason`). */
  framesDropped: Counter;
  recordingGaps: Counter;
  /** By ATTR.refusal. */
  refused: Counter;
  protocolErrors: Counter;
  writeErrors: Counter;
  /** Connections closed before a session existed, by ATTR.closeReason. */
  connectionsClosed: Counter;
}

export function mediaInstruments(provider?: MeterProvider): MediaInstruments {
  const m = meter(provider);
  return {
    streams: m.createUpDownCounter(METRIC.mediaStreams, {
      description: 'Media streams being received by this process',
    }),
    framesWritten: m.createCounter(METRIC.framesWritten, { description: 'Media frames written' }),
    framesDropped: m.createCounter(METRIC.framesDropped, {
      description: 'Media frames not written, by reason',
    }),
    recordingGaps: m.createCounter(METRIC.recordingGaps, {
      description: 'Gaps listed in recording manifests (media lost, process died)',
    }),
    refused: m.createCounter(METRIC.mediaRefused, {
      description: 'Media handshakes refused, by reason',
    }),
    sessions: m.createCounter(METRIC.mediaSessions, {
      description: 'Media sessions welcomed, new (accepted) or resumed',
    }),
    protocolErrors: m.createCounter(METRIC.mediaProtocolErrors, {
      description: 'Media sessions and handshakes ended by a frame that breaks cr-media/1',
    }),
    writeErrors: m.createCounter(METRIC.mediaWriteErrors, {
      description: 'Recording writes that failed (the session reports the fault)',
    }),
    connectionsClosed: m.createCounter(METRIC.mediaConnectionsClosed, {
      description: 'Media connections closed before a session existed, by reason',
    }),
  };
}

/** Reports the cluster-wide live call count (a gauge: take the max across replicas, never sum). */
export function observeActiveCalls(count: () => Promise<number>): () => void {
  const gauge = meter().createObservableGauge(METRIC.activeCalls, {
    description: 'Live calls in Redis (cluster-wide; every replica reports the same value)',
  });
  const callback = async (result: { observe(value: number): void }) => {
    try {
      result.observe(await count());
    } catch {
      // Redis unreachable: no observation this round
    }
  };
  gauge.addCallback(callback);
  return () => gauge.removeCallback(callback);
}
