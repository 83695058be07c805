/**
 * Attribute and metric names, in one place. Call and tenant ids are
 * attributes; participant identities, tokens and credentials never are.
 */
export const ATTR = {
  callId: 'cr.call.id',
  tenantId: 'cr.tenant.id',
  eventType: 'cr.call.event',
  fromState: 'cr.call.from_state',
  toState: 'cr.call.to_state',
  version: 'cr.call.version',
  /** committed | duplicate | ignored | conflict-retried (committed after version conflicts) */
  outcome: 'cr.call.outcome',
  conflicts: 'cr.call.conflicts',
  effects: 'cr.call.effects',
  queue: 'messaging.destination.name',
  jobId: 'messaging.message.id',
  jobName: 'cr.job.name',
  attempt: 'cr.job.attempt',
  graphOp: 'cr.graph.operation',
  /** How many earlier attempts of this Graph request failed. */
  retryCount: 'cr.graph.retry_count',
  httpStatus: 'http.response.status_code',
  mediaState: 'cr.media.state',
  mediaReason: 'cr.media.reason',
  mediaSession: 'cr.media.session',
  refusal: 'cr.media.refusal',
  /** accepted | resumed | refused */
  handshakeOutcome: 'cr.media.handshake.outcome',
  /** Why a media connection was closed before it had a session (src/media/connection-guard.ts). */
  closeReason: 'cr.media.close_reason',
  /** Why frames were dropped (before-confirmation, recording-stopped, late, write-error, …). */
  dropReason: 'cr.media.drop_reason',
  /** discontinuity (a process died), silence-fill, or what `noteGap` was told. */
  gapReason: 'cr.recording.gap_reason',
  jwtOutcome: 'cr.auth.outcome',
  /** What a roster limit cut: `participants` or `ids`. */
  rosterCut: 'cr.roster.cut_kind',
  /** The simulator's notification kind (and state) of a webhook delivery. */
  simNotification: 'cr.sim.notification',
  httpMethod: 'http.request.method',
  httpRoute: 'http.route',
} as const;

export const METRIC = {
  invites: 'cr.invites',
  answerLatency: 'cr.answer.latency',
  deadlineMisses: 'cr.answer.deadline_misses',
  effectsExpired: 'cr.graph.effects_expired',
  commitConflicts: 'cr.commit.conflicts',
  commitDuplicates: 'cr.commit.duplicates',
  queueWait: 'cr.queue.wait',
  jobsTakenBack: 'cr.queue.taken_back',
  activeCalls: 'cr.calls.active',
  mediaStreams: 'cr.media.streams',
  framesWritten: 'cr.media.frames.written',
  framesDropped: 'cr.media.frames.dropped',
  recordingGaps: 'cr.recording.gaps',
  mediaRefused: 'cr.media.handshakes.refused',
  mediaSessions: 'cr.media.sessions',
  mediaProtocolErrors: 'cr.media.protocol_errors',
  mediaWriteErrors: 'cr.media.write_errors',
  mediaConnectionsClosed: 'cr.media.connections.closed',
  rosterCut: 'cr.roster.cut',
} as const;

/** Instrumentation scope of every tracer and meter of the orchestrator. */
export const SCOPE = 'cr-orchestrator';
