/**
 * Bytes → frames, incrementally: a frame may arrive split over any number of chunks and a chunk
 * may hold several frames. The header is checked as soon as its 8 bytes are in (version, type,
 * the payload limit of the type), so an oversize length is refused before anything is buffered
 * for it. After a `ProtocolError` the decoder stays failed: the stream has lost its framing.
 */
import {
  AUDIO_HEADER_BYTES,
  DOMINANT_SPEAKER_BYTES,
  HEADER_BYTES,
  HEARTBEAT_BYTES,
  PCM_FRAME_BYTES,
  PROTOCOL_VERSION,
  ProtocolError,
  TYPE_BY_CODE,
  VIDEO_HEADER_BYTES,
  payloadLimit,
  type Frame,
  type FrameType,
} from './frames.js';

type Json = Record<string, unknown>;

function parseJson(type: FrameType, payload: Buffer): Json {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new ProtocolError(`${type} payload is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError(`${type} payload is not a JSON object`);
  }
  return value as Json;
}

function str(type: FrameType, o: Json, key: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new ProtocolError(`${type}.${key} must be a string`);
  return v;
}

function optStr(type: FrameType, o: Json, key: string): { [k: string]: string } {
  if (o[key] === undefined) return {};
  return { [key]: str(type, o, key) };
}

function ms(type: FrameType, o: Json, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new ProtocolError(`${type}.${key} must be a non-negative integer`);
  }
  return v;
}

function timestampAt(type: FrameType, payload: Buffer, offset: number): number {
  const value = payload.readBigUInt64BE(offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ProtocolError(`${type} timestamp ${value} is out of range`);
  }
  return Number(value);
}

function flag(type: FrameType, what: string, byte: number): boolean {
  if (byte > 1) throw new ProtocolError(`${type} ${what} must be 0 or 1 (got ${byte})`);
  return byte === 1;
}

function exactly(type: FrameType, payload: Buffer, bytes: number): void {
  if (payload.length !== bytes) {
    throw new ProtocolError(`${type} payload must be ${bytes} bytes (got ${payload.length})`);
  }
}

/** Decode one payload of a known type; the header was already checked. */
export function decodePayload(type: FrameType, payload: Buffer): Frame {
  switch (type) {
    case 'hello': {
      const o = parseJson(type, payload);
      return {
        type,
        callId: str(type, o, 'callId'),
        ...optStr(type, o, 'credential'),
        ...optStr(type, o, 'resume'),
        ...optStr(type, o, 'peer'),
      };
    }
    case 'welcome': {
      const o = parseJson(type, payload);
      return {
        type,
        sessionId: str(type, o, 'sessionId'),
        resume: str(type, o, 'resume'),
        heartbeatMs: ms(type, o, 'heartbeatMs'),
        reconnectWindowMs: ms(type, o, 'reconnectWindowMs'),
      };
    }
    case 'refuse':
    case 'end':
      return { type, reason: str(type, parseJson(type, payload), 'reason') };
    case 'audio': {
      if (payload.length < AUDIO_HEADER_BYTES) {
        throw new ProtocolError(`audio payload of ${payload.length} bytes is too short`);
      }
      const kindByte = payload.readUInt8(0);
      if (kindByte > 1) throw new ProtocolError(`audio kind must be 0 or 1 (got ${kindByte})`);
      const silence = flag(type, 'silence', payload.readUInt8(1));
      const pcmBytes = payload.length - AUDIO_HEADER_BYTES;
      const expected = silence ? 0 : PCM_FRAME_BYTES;
      if (pcmBytes !== expected) {
        throw new ProtocolError(`audio PCM must be ${expected} bytes (got ${pcmBytes})`);
      }
      return {
        type,
        kind: kindByte === 0 ? 'mixed' : 'unmixed',
        sourceId: payload.readUInt32BE(4),
        timestamp: timestampAt(type, payload, 8),
        silence,
        ...(!silence && { pcm: Buffer.from(payload.subarray(AUDIO_HEADER_BYTES)) }),
      };
    }
    case 'video':
      if (payload.length < VIDEO_HEADER_BYTES) {
        throw new ProtocolError(`video payload of ${payload.length} bytes is too short`);
      }
      return {
        type,
        sourceId: payload.readUInt32BE(0),
        timestamp: timestampAt(type, payload, 4),
        keyframe: flag(type, 'keyframe', payload.readUInt8(12)),
        data: Buffer.from(payload.subarray(VIDEO_HEADER_BYTES)),
      };
    case 'dominantSpeaker':
      exactly(type, payload, DOMINANT_SPEAKER_BYTES);
      return { type, sourceId: payload.readUInt32BE(0), timestamp: timestampAt(type, payload, 4) };
    case 'heartbeat':
      exactly(type, payload, HEARTBEAT_BYTES);
      return { type, timestamp: timestampAt(type, payload, 0) };
  }
}

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private header: { type: FrameType; length: number } | undefined;
  private failure: ProtocolError | undefined;

  /** Bytes received but not yet decoded (part of a frame). */
  get pendingBytes(): number {
    return this.buffered + (this.header ? HEADER_BYTES : 0);
  }

  /**
   * Feed the next bytes of the stream; returns the frames they completed, in order.
   * @throws ProtocolError on a bad version, an unknown type, an oversize or malformed payload;
   *   every later call throws the same error.
   */
  push(chunk: Buffer): Frame[] {
    if (this.failure) throw this.failure;
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    try {
      for (;;) {
        if (!this.header) {
          if (this.buffered < HEADER_BYTES) break;
          this.header = parseHeader(this.take(HEADER_BYTES));
        }
        if (this.buffered < this.header.length) break;
        const { type, length } = this.header;
        this.header = undefined;
        frames.push(decodePayload(type, this.take(length)));
      }
    } catch (error) {
      this.failure =
        error instanceof ProtocolError
          ? error
          : new ProtocolError(`undecodable frame: ${String(error)}`);
      this.chunks = [];
      this.buffered = 0;
      throw this.failure;
    }
    return frames;
  }

  /** The next `n` buffered bytes (n <= buffered), joined only when they span chunks. */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0];
    if (first && first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const head = this.chunks[0]!;
      const used = Math.min(head.length, n - filled);
      head.copy(out, filled, 0, used);
      filled += used;
      if (used === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(used);
    }
    return out;
  }
}

function parseHeader(h: Buffer): { type: FrameType; length: number } {
  const version = h.readUInt8(0);
  if (version !== PROTOCOL_VERSION) throw new ProtocolError(`unsupported version ${version}`);
  const code = h.readUInt8(1);
  const type = TYPE_BY_CODE.get(code);
  if (!type) throw new ProtocolError(`unknown frame type 0x${code.toString(16).padStart(2, '0')}`);
  // flags (bytes 2–3) are 0 in version 1 and ignored, so a later minor use of them stays readable.
  const length = h.readUInt32BE(4);
  const limit = payloadLimit(type);
  if (length > limit) {
    throw new ProtocolError(`${type} payload of ${length} bytes exceeds the limit of ${limit}`);
  }
  return { type, length };
}
