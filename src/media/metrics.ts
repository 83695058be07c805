/** Counters of one media process (exported as OpenTelemetry metrics once telemetry lands). */
export interface MediaMetrics {
  sessions: number;
  resumes: number;
  framesWritten: number;
  framesDroppedBeforeConfirmation: number;
  /** Unmixed audio of a source id the call's roster never announced: dropped. */
  framesDroppedUnannounced: number;
  protocolErrors: number;
  writeErrors: number;
  /** TLS-level failures: plaintext clients, slow or broken TLS handshakes. */
  tlsErrors: number;
  /** Refused handshakes by reason (docs/media-protocol.md). */
  refused: Record<string, number>;
}

export const newMediaMetrics = (): MediaMetrics => ({
  sessions: 0,
  resumes: 0,
  framesWritten: 0,
  framesDroppedBeforeConfirmation: 0,
  framesDroppedUnannounced: 0,
  protocolErrors: 0,
  writeErrors: 0,
  tlsErrors: 0,
  refused: {},
});
