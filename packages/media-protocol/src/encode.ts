/**
 * Frame → bytes. Every integer big-endian, timestamps as u64 ms since epoch, control frames as
 * UTF-8 JSON (docs/media-protocol.md). A frame the decoder would refuse is never produced:
 * `encodeFrame` throws `ProtocolError` instead.
 */
import {
  AUDIO_HEADER_BYTES,
  DOMINANT_SPEAKER_BYTES,
  HEADER_BYTES,
  HEARTBEAT_BYTES,
  PCM_FRAME_BYTES,
  PROTOCOL_VERSION,
  ProtocolError,
  TYPE_CODES,
  VIDEO_HEADER_BYTES,
  payloadLimit,
  type Frame,
} from './frames.js';

const u32 = (value: number, what: string): number => {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new ProtocolError(`${what} must be a u32 (got ${value})`);
  }
  return value;
};

const timestamp = (value: number): bigint => {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ProtocolError(`timestamp must be a non-negative integer of ms (got ${value})`);
  }
  return BigInt(value);
};

function json(frame: Frame): Buffer {
  const { type: _type, ...fields } = frame;
  return Buffer.from(JSON.stringify(fields), 'utf8');
}

function payloadOf(frame: Frame): Buffer {
  switch (frame.type) {
    case 'hello':
    case 'welcome':
    case 'refuse':
    case 'end':
      return json(frame);
    case 'audio': {
      const pcm = frame.silence ? undefined : frame.pcm;
      if (frame.silence && frame.pcm !== undefined && frame.pcm.length > 0) {
        throw new ProtocolError('a silent audio frame carries no PCM');
      }
      if (!frame.silence && pcm?.length !== PCM_FRAME_BYTES) {
        throw new ProtocolError(`audio PCM must be ${PCM_FRAME_BYTES} bytes (got ${pcm?.length})`);
      }
      const out = Buffer.alloc(AUDIO_HEADER_BYTES + (pcm?.length ?? 0));
      out.writeUInt8(frame.kind === 'mixed' ? 0 : 1, 0);
      out.writeUInt8(frame.silence ? 1 : 0, 1);
      out.writeUInt32BE(u32(frame.sourceId, 'sourceId'), 4);
      out.writeBigUInt64BE(timestamp(frame.timestamp), 8);
      pcm?.copy(out, AUDIO_HEADER_BYTES);
      return out;
    }
    case 'video': {
      const out = Buffer.alloc(VIDEO_HEADER_BYTES + frame.data.length);
      out.writeUInt32BE(u32(frame.sourceId, 'sourceId'), 0);
      out.writeBigUInt64BE(timestamp(frame.timestamp), 4);
      out.writeUInt8(frame.keyframe ? 1 : 0, 12);
      frame.data.copy(out, VIDEO_HEADER_BYTES);
      return out;
    }
    case 'dominantSpeaker': {
      const out = Buffer.alloc(DOMINANT_SPEAKER_BYTES);
      out.writeUInt32BE(u32(frame.sourceId, 'sourceId'), 0);
      out.writeBigUInt64BE(timestamp(frame.timestamp), 4);
      return out;
    }
    case 'heartbeat': {
      const out = Buffer.alloc(HEARTBEAT_BYTES);
      out.writeBigUInt64BE(timestamp(frame.timestamp), 0);
      return out;
    }
  }
}

/** The wire bytes of one frame: the 8-byte header, then the payload. */
export function encodeFrame(frame: Frame): Buffer {
  const code = TYPE_CODES[frame.type] as number | undefined;
  if (code === undefined) throw new ProtocolError(`unknown frame type ${String(frame.type)}`);
  const payload = payloadOf(frame);
  const limit = payloadLimit(frame.type);
  if (payload.length > limit) {
    throw new ProtocolError(`${frame.type} payload of ${payload.length} bytes exceeds ${limit}`);
  }
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(PROTOCOL_VERSION, 0);
  header.writeUInt8(code, 1);
  header.writeUInt16BE(0, 2);
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload], HEADER_BYTES + payload.length);
}
