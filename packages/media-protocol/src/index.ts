/**
 * cr-media/1, the protocol between a media peer and the media process (docs/media-protocol.md):
 * frame values, `encodeFrame` and the incremental `FrameDecoder`. Shared by the media process
 * and the simulator's media peer; it holds no connection state.
 */
export { FrameDecoder } from './decode.js';
export { encodeFrame } from './encode.js';
export {
  FRAME_MS,
  HEADER_BYTES,
  MAX_AUDIO_PAYLOAD,
  MAX_CONTROL_PAYLOAD,
  MAX_VIDEO_PAYLOAD,
  MEDIA_ALPN,
  PCM_FRAME_BYTES,
  PROTOCOL_VERSION,
  ProtocolError,
  TYPE_CODES,
  type Frame,
  type FrameType,
} from './frames.js';
