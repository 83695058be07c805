/**
 * Telemetry for business code: the span helper and carrier, metric instruments, names — all on
 * `@opentelemetry/api` alone. Composition roots start the SDK from `./sdk.js`.
 */
export { ATTR, METRIC, SCOPE } from './attributes.js';
export {
  callInstruments,
  jobInstruments,
  mediaInstruments,
  observeActiveCalls,
  rosterCutCounter,
  type CallInstruments,
  type JobInstruments,
  type MediaInstruments,
} from './instruments.js';
export {
  contextFrom,
  currentCarrier,
  linkTo,
  requestAttributes,
  ROOT_CONTEXT,
  SpanKind,
  tracer,
  withRequestAttributes,
  withSpan,
  type TraceCarrier,
} from './spans.js';
