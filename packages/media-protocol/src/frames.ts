/**
 * The frames of cr-media/1 (docs/media-protocol.md) as values, with the wire constants the
 * encoder and the decoder share. The protocol definition, not implementation state: the media
 * process and the simulator's media peer both build on it.
 */

/** ALPN protocol id of the media endpoint. */
export const MEDIA_ALPN = 'cr-media/1';
/** Protocol version carried in every frame header. */
export const PROTOCOL_VERSION = 1;
/** One audio frame: 20 ms of 16 kHz, 16-bit little-endian mono PCM. */
export const PCM_FRAME_BYTES = 640;
export const FRAME_MS = 20;
/** ver (u8), type (u8), flags (u16), payload length (u32). */
export const HEADER_BYTES = 8;

/** Payload limits: control frames 4 KiB, audio 1 KiB, video 256 KiB. */
export const MAX_CONTROL_PAYLOAD = 4 * 1024;
export const MAX_AUDIO_PAYLOAD = 1024;
export const MAX_VIDEO_PAYLOAD = 256 * 1024;

/** Fixed part of the AUDIO payload before the PCM: kind, silence, u16 0, sourceId, timestamp. */
export const AUDIO_HEADER_BYTES = 16;
/** Fixed part of the VIDEO payload before the access unit: sourceId, timestamp, keyframe. */
export const VIDEO_HEADER_BYTES = 13;
export const DOMINANT_SPEAKER_BYTES = 12;
export const HEARTBEAT_BYTES = 8;

export type Frame =
  | { type: 'hello'; callId: string; credential?: string; resume?: string; peer?: string }
  | {
      type: 'welcome';
      sessionId: string;
      resume: string;
      heartbeatMs: number;
      reconnectWindowMs: number;
    }
  | { type: 'refuse'; reason: string }
  | {
      type: 'audio';
      kind: 'mixed' | 'unmixed';
      /** The speaker's MSI; 0 for mixed. */
      sourceId: number;
      /** Sender time, ms since epoch. */
      timestamp: number;
      silence: boolean;
      /** Exactly `PCM_FRAME_BYTES` unless `silence`, then absent. */
      pcm?: Buffer;
    }
  | { type: 'video'; sourceId: number; timestamp: number; keyframe: boolean; data: Buffer }
  | { type: 'dominantSpeaker'; sourceId: number; timestamp: number }
  | { type: 'heartbeat'; timestamp: number }
  | { type: 'end'; reason: string };

export type FrameType = Frame['type'];

export const TYPE_CODES = {
  hello: 0x01,
  welcome: 0x02,
  refuse: 0x03,
  audio: 0x10,
  video: 0x11,
  dominantSpeaker: 0x12,
  heartbeat: 0x20,
  end: 0x30,
} as const satisfies Record<FrameType, number>;

export const TYPE_BY_CODE: ReadonlyMap<number, FrameType> = new Map(
  Object.entries(TYPE_CODES).map(([type, code]) => [code, type as FrameType]),
);

/** The largest payload a frame of `type` may carry. */
export function payloadLimit(type: FrameType): number {
  switch (type) {
    case 'audio':
    case 'dominantSpeaker':
      return MAX_AUDIO_PAYLOAD;
    case 'video':
      return MAX_VIDEO_PAYLOAD;
    default:
      return MAX_CONTROL_PAYLOAD;
  }
}

/**
 * A frame that breaks the protocol: unknown version or type, oversize or malformed payload.
 * Thrown by `FrameDecoder.push` for what came off the wire and by `encodeFrame` for a frame that
 * could not be sent; the decision it carries is "refuse or end the session, then close".
 */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}
