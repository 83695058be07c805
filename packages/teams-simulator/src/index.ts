/**
 * The Teams platform stand-in (docs/architecture.md#the-simulator): OpenID metadata and JWKS, a
 * fake Entra token endpoint, a fake Graph calls API over HTTPS, signed webhook deliveries with the
 * real headers and payload shapes, the answer deadline, and fault injection. Built from the
 * platform's documented behaviour (docs/teams-protocol.md), never from the orchestrator's code.
 */
export { startSimulator } from './simulator.js';
export { generateSimulatorKeys, type SimulatorKeys } from './tokens.js';
export { ManualClock, realClock, type Clock, type ClockTimer } from './clock.js';
export type {
  DeliverOptions,
  DeliveryKind,
  DeliveryLogEntry,
  DeliveryRetry,
  GraphFault,
  GraphRoute,
  PlaceCallOptions,
  RecordingStatusUpdate,
  RequestLogEntry,
  RequestRoute,
  ResultInfo,
  SimCall,
  SimCallState,
  SimIdentity,
  SimIdentitySet,
  SimMediaBlob,
  SimMediaOptions,
  SimMediaPeer,
  SimMediaPeerState,
  SimMediaStream,
  SimMediaWelcome,
  SimParticipant,
  SimParticipantInput,
  SimPolicy,
  SimRecordingStatus,
  SimSentAudio,
  SimSentVideo,
  SimUserEvent,
  SimUserOutcome,
  SimUserOutcomeReason,
  Simulator,
  SimulatorLogger,
  SimulatorOptions,
  TokenMode,
} from './types.js';
