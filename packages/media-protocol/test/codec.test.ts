/**
 * cr-media/1 framing (docs/media-protocol.md): the exact wire layout, incremental decoding across
 * arbitrary chunk boundaries, and every way a stream is refused.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FrameDecoder,
  HEADER_BYTES,
  MAX_CONTROL_PAYLOAD,
  MAX_VIDEO_PAYLOAD,
  PCM_FRAME_BYTES,
  ProtocolError,
  encodeFrame,
  type Frame,
} from '../src/index.js';

const pcm = (seed: number): Buffer =>
  Buffer.from(Array.from({ length: PCM_FRAME_BYTES }, (_, i) => (i * 7 + seed) & 0xff));
const NOW = 1_767_225_600_000; // 2026-01-01, beyond 2^32 so the u64 matters

const EVERY_TYPE: Frame[] = [
  { type: 'hello', callId: 'c-1', credential: 'abc.def', peer: 'simulator/1' },
  { type: 'hello', callId: 'c-1', resume: 'r.s' },
  { type: 'welcome', sessionId: 's-1', resume: 'r.s', heartbeatMs: 1000, reconnectWindowMs: 1e4 },
  { type: 'refuse', reason: 'reused' },
  { type: 'audio', kind: 'mixed', sourceId: 0, timestamp: NOW, silence: false, pcm: pcm(1) },
  { type: 'audio', kind: 'unmixed', sourceId: 0xffff_fffe, timestamp: NOW + 20, silence: true },
  {
    type: 'video',
    sourceId: 7,
    timestamp: NOW,
    keyframe: true,
    data: Buffer.from([0, 0, 0, 1, 0x65, 9, 8, 7]),
  },
  { type: 'video', sourceId: 7, timestamp: NOW, keyframe: false, data: Buffer.alloc(0) },
  { type: 'dominantSpeaker', sourceId: 3, timestamp: NOW },
  { type: 'heartbeat', timestamp: NOW },
  { type: 'end', reason: 'call-ended' },
];

const decodeAll = (bytes: Buffer): Frame[] => new FrameDecoder().push(bytes);
const header = (ver: number, type: number, length: number): Buffer => {
  const h = Buffer.alloc(HEADER_BYTES);
  h.writeUInt8(ver, 0);
  h.writeUInt8(type, 1);
  h.writeUInt32BE(length, 4);
  return h;
};
const raw = (type: number, payload: Buffer): Buffer =>
  Buffer.concat([header(1, type, payload.length), payload]);

describe('wire layout', () => {
  it('an audio frame is the header, kind, silence, u16 0, u32 sourceId, u64 ms, then 640 bytes', () => {
    const bytes = encodeFrame(EVERY_TYPE[4]!);
    expect(bytes.length).toBe(8 + 16 + 640);
    expect([...bytes.subarray(0, 8)]).toEqual([1, 0x10, 0, 0, 0, 0, 0x02, 0x90]);
    expect(bytes.readUInt8(8)).toBe(0); // mixed
    expect(bytes.readUInt8(9)).toBe(0); // not silent
    expect(bytes.readUInt16BE(10)).toBe(0);
    expect(bytes.readUInt32BE(12)).toBe(0);
    expect(bytes.readBigUInt64BE(16)).toBe(BigInt(NOW));
    expect(bytes.subarray(24).equals(pcm(1))).toBe(true);
  });

  it('a silent unmixed frame has no PCM', () => {
    const bytes = encodeFrame(EVERY_TYPE[5]!);
    expect(bytes.toString('hex')).toBe(
      '0110000000000010' + '0101' + '0000' + 'fffffffe' + (NOW + 20).toString(16).padStart(16, '0'),
    );
  });

  it('control frames carry JSON; video, dominant speaker and heartbeat their fixed layouts', () => {
    const hello = encodeFrame(EVERY_TYPE[0]!);
    expect(hello.readUInt8(1)).toBe(0x01);
    expect(JSON.parse(hello.subarray(8).toString('utf8'))).toEqual({
      callId: 'c-1',
      credential: 'abc.def',
      peer: 'simulator/1',
    });
    expect(hello.readUInt32BE(4)).toBe(hello.length - 8);
    const codes = EVERY_TYPE.map((f) => encodeFrame(f).readUInt8(1));
    expect(codes).toEqual([0x01, 0x01, 0x02, 0x03, 0x10, 0x10, 0x11, 0x11, 0x12, 0x20, 0x30]);
    expect(encodeFrame(EVERY_TYPE[6]!).subarray(8).toString('hex')).toBe(
      '00000007' + NOW.toString(16).padStart(16, '0') + '01' + '0000000165090807',
    );
    expect(encodeFrame(EVERY_TYPE[8]!).subarray(8).toString('hex')).toBe(
      '00000003' + NOW.toString(16).padStart(16, '0'),
    );
    expect(encodeFrame(EVERY_TYPE[9]!).toString('hex')).toBe(
      '0120000000000008' + NOW.toString(16).padStart(16, '0'),
    );
  });

  it('refuses to encode what the decoder would refuse', () => {
    const audio = { type: 'audio', kind: 'mixed', sourceId: 0, timestamp: NOW } as const;
    expect(() => encodeFrame({ ...audio, silence: false, pcm: Buffer.alloc(639) })).toThrow(
      ProtocolError,
    );
    expect(() => encodeFrame({ ...audio, silence: false })).toThrow(ProtocolError);
    expect(() => encodeFrame({ ...audio, silence: true, pcm: pcm(0) })).toThrow(ProtocolError);
    expect(() => encodeFrame({ ...audio, silence: true, timestamp: -1 })).toThrow(ProtocolError);
    expect(() => encodeFrame({ ...audio, silence: true, sourceId: 2 ** 32 })).toThrow(
      ProtocolError,
    );
    expect(() =>
      encodeFrame({
        type: 'video',
        sourceId: 1,
        timestamp: NOW,
        keyframe: false,
        data: Buffer.alloc(MAX_VIDEO_PAYLOAD),
      }),
    ).toThrow(ProtocolError);
    expect(() => encodeFrame({ type: 'end', reason: 'x'.repeat(MAX_CONTROL_PAYLOAD) })).toThrow(
      /exceeds/,
    );
  });
});

describe('decoding', () => {
  it('round-trips every frame type', () => {
    for (const frame of EVERY_TYPE) expect(decodeAll(encodeFrame(frame))).toEqual([frame]);
  });

  it('decodes frames fed one byte at a time', () => {
    const bytes = Buffer.concat(EVERY_TYPE.map(encodeFrame));
    const decoder = new FrameDecoder();
    const out: Frame[] = [];
    for (let i = 0; i < bytes.length; i += 1) {
      const frames = decoder.push(bytes.subarray(i, i + 1));
      // A frame completes exactly on its last byte, never earlier.
      if (frames.length > 0) expect(decoder.pendingBytes).toBe(0);
      out.push(...frames);
    }
    expect(out).toEqual(EVERY_TYPE);
  });

  it('decodes several frames from one chunk and keeps a trailing partial frame', () => {
    const bytes = Buffer.concat(EVERY_TYPE.map(encodeFrame));
    const cut = bytes.length - 5;
    const decoder = new FrameDecoder();
    expect(decoder.push(bytes.subarray(0, cut))).toEqual(EVERY_TYPE.slice(0, -1));
    expect(decoder.pendingBytes).toBe(encodeFrame(EVERY_TYPE.at(-1)!).length - 5);
    expect(decoder.push(bytes.subarray(cut))).toEqual(EVERY_TYPE.slice(-1));
  });

  it('decoded buffers do not alias the input chunk', () => {
    const bytes = encodeFrame(EVERY_TYPE[4]!);
    const [frame] = decodeAll(bytes) as [Extract<Frame, { type: 'audio' }>];
    bytes.fill(0);
    expect(frame.pcm?.equals(pcm(1))).toBe(true);
  });

  it('ignores unknown JSON fields of control frames', () => {
    const payload = Buffer.from(JSON.stringify({ reason: 'ended', extra: 1 }));
    expect(decodeAll(raw(0x03, payload))).toEqual([{ type: 'refuse', reason: 'ended' }]);
  });

  it('property: any frames split at any points decode to the same frames', () => {
    const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
    const ts = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
    const text = fc.string({ maxLength: 200 });
    const frame: fc.Arbitrary<Frame> = fc.oneof(
      fc.record(
        { type: fc.constant('hello'), callId: text, credential: text, resume: text, peer: text },
        { requiredKeys: ['type', 'callId'] },
      ),
      fc.record({
        type: fc.constant('welcome'),
        sessionId: text,
        resume: text,
        heartbeatMs: ts,
        reconnectWindowMs: ts,
      }),
      fc.record({ type: fc.constantFrom('refuse', 'end'), reason: text }),
      fc.record({
        type: fc.constant('audio'),
        kind: fc.constantFrom('mixed', 'unmixed'),
        sourceId: u32,
        timestamp: ts,
        silence: fc.constant(false),
        pcm: fc.uint8Array({ minLength: 640, maxLength: 640 }).map((a) => Buffer.from(a)),
      }),
      fc.record({
        type: fc.constant('audio'),
        kind: fc.constantFrom('mixed', 'unmixed'),
        sourceId: u32,
        timestamp: ts,
        silence: fc.constant(true),
      }),
      fc.record({
        type: fc.constant('video'),
        sourceId: u32,
        timestamp: ts,
        keyframe: fc.boolean(),
        data: fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
      }),
      fc.record({ type: fc.constant('dominantSpeaker'), sourceId: u32, timestamp: ts }),
      fc.record({ type: fc.constant('heartbeat'), timestamp: ts }),
    );
    fc.assert(
      fc.property(
        fc.array(frame, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (frames, cuts) => {
          const bytes = Buffer.concat(frames.map(encodeFrame));
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort(
            (a, b) => a - b,
          );
          const decoder = new FrameDecoder();
          const out: Frame[] = [];
          let from = 0;
          for (const to of [...points, bytes.length]) {
            out.push(...decoder.push(bytes.subarray(from, to)));
            from = to;
          }
          expect(out).toEqual(frames);
          expect(decoder.pendingBytes).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('protocol errors', () => {
  const refused = (bytes: Buffer, message: RegExp) => {
    const decoder = new FrameDecoder();
    expect(() => decoder.push(bytes)).toThrow(message);
    // The framing is lost: the decoder stays failed, even for a valid frame.
    expect(() => decoder.push(encodeFrame({ type: 'heartbeat', timestamp: 1 }))).toThrow(
      ProtocolError,
    );
  };
  const audioPayload = (kind: number, silence: number, pcmBytes: number) => {
    const p = Buffer.alloc(16 + pcmBytes);
    p.writeUInt8(kind, 0);
    p.writeUInt8(silence, 1);
    return p;
  };

  it('a version other than 1, from the header alone', () => {
    refused(header(2, 0x20, 8), /version 2/);
    refused(header(0, 0x20, 8), /version 0/);
  });

  it('an unknown type, from the header alone', () => {
    refused(header(1, 0x04, 2), /unknown frame type 0x04/);
    refused(header(1, 0xff, 0), /unknown frame type 0xff/);
  });

  it('a payload over the limit of its type, before it is buffered', () => {
    refused(header(1, 0x01, MAX_CONTROL_PAYLOAD + 1), /exceeds the limit of 4096/);
    refused(header(1, 0x30, MAX_CONTROL_PAYLOAD + 1), /exceeds/);
    refused(header(1, 0x10, 1025), /exceeds the limit of 1024/);
    refused(header(1, 0x11, MAX_VIDEO_PAYLOAD + 1), /exceeds the limit of 262144/);
    refused(header(1, 0x11, 0xffff_ffff), /exceeds/);
    // At the limit is fine: the decoder just waits for the payload.
    const decoder = new FrameDecoder();
    expect(decoder.push(header(1, 0x11, MAX_VIDEO_PAYLOAD))).toEqual([]);
  });

  it('JSON that is not JSON, not an object, or lacks a field', () => {
    refused(raw(0x01, Buffer.from('{"callId":')), /not JSON/);
    refused(raw(0x03, Buffer.from('"reused"')), /not a JSON object/);
    refused(raw(0x30, Buffer.from('[]')), /not a JSON object/);
    refused(raw(0x01, Buffer.from('{"credential":"x"}')), /hello.callId/);
    refused(raw(0x01, Buffer.from('{"callId":"c","resume":5}')), /hello.resume/);
    refused(raw(0x02, Buffer.from('{"sessionId":"s","resume":"r","heartbeatMs":"1"}')), /heartbe/);
    refused(raw(0x03, Buffer.from('{}')), /refuse.reason/);
  });

  it('audio whose PCM is not 640 bytes, or not 0 when silent', () => {
    refused(raw(0x10, audioPayload(0, 0, 639)), /must be 640 bytes \(got 639\)/);
    refused(raw(0x10, audioPayload(0, 0, 0)), /must be 640 bytes \(got 0\)/);
    refused(raw(0x10, audioPayload(1, 1, 640)), /must be 0 bytes \(got 640\)/);
    refused(raw(0x10, Buffer.alloc(15)), /too short/);
    refused(raw(0x10, audioPayload(2, 1, 0)), /kind must be 0 or 1/);
    refused(raw(0x10, audioPayload(0, 2, 0)), /silence must be 0 or 1/);
  });

  it('fixed-size frames of the wrong size', () => {
    refused(raw(0x20, Buffer.alloc(7)), /heartbeat payload must be 8 bytes/);
    refused(raw(0x12, Buffer.alloc(13)), /dominantSpeaker payload must be 12 bytes/);
    refused(raw(0x11, Buffer.alloc(12)), /video payload of 12 bytes is too short/);
  });

  it('a timestamp beyond what a JS number holds exactly', () => {
    refused(raw(0x20, Buffer.alloc(8, 0xff)), /out of range/);
    const u64 = (value: bigint) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(value);
      return b;
    };
    // the edge: 2^53 - 1 is the last exact one, 2^53 the first refused
    const last = new FrameDecoder().push(raw(0x20, u64(2n ** 53n - 1n)));
    expect(last).toEqual([{ type: 'heartbeat', timestamp: Number.MAX_SAFE_INTEGER }]);
    refused(raw(0x20, u64(2n ** 53n)), /timestamp 9007199254740992 is out of range/);
    const mixed = new FrameDecoder().push(raw(0x20, u64(0x1_2345_6789n)));
    expect(mixed).toEqual([{ type: 'heartbeat', timestamp: 0x1_2345_6789 }]);
  });

  it('frames before the bad one in the same push are not returned; nothing after is read', () => {
    const decoder = new FrameDecoder();
    const good = encodeFrame({ type: 'heartbeat', timestamp: 5 });
    expect(() => decoder.push(Buffer.concat([good, header(9, 0x20, 8)]))).toThrow(/version 9/);
  });
});
