/**
 * The simulator's media leg (docs/teams-protocol.md#media; docs/media-protocol.md): after an
 * accepted answer with a cr-media/1 blob it connects over TLS 1.3, says HELLO with the blob's
 * credential and streams mixed + unmixed audio (and video) that follows the roster; it resumes
 * after a lost connection, fails the leg 500/1005 when it cannot connect, and offers faults.
 * Every check compares what the peer logged with what a real TLS server received.
 */
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FRAME_MS, type Frame } from '@cr-orchestrator/media-protocol';
import { pcmBytes, speechFrame } from '../src/media-synth.js';
import type { PlaceCallOptions, SimCall, SimMediaPeer } from '../src/index.js';
import { answerBody } from './bot-stub.js';
import {
  audioByTrack,
  startMediaServer,
  wire,
  wireMap,
  type TestMediaServer,
} from './media-server.js';
import { callbackFor, graphAction, startHarness, type Harness, GRAPH_SUCCESS } from './setup.js';

const TENANT = '7e1e0000-0000-4000-8000-0000000000c1';

let h: Harness;
let server: TestMediaServer;
const extra: { close(): Promise<void> }[] = [];
beforeAll(async () => {
  h = await startHarness({
    answerDeadlineMs: 10_000,
    media: { enabled: true, paceMs: 2, connectTimeoutMs: 1000 },
  });
  server = await startMediaServer();
  await h.graph.token(TENANT);
});
afterEach(async () => {
  await Promise.all(extra.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await h?.close();
  await server?.close();
});

const blobFor = (call: SimCall, mpUri: string, credential: string) =>
  JSON.stringify({ protocol: 'cr-media/1', mpUri, callId: call.id, credential });

interface Target {
  /** @default the shared simulator */
  harness?: Harness;
  /** The media server whose credential is minted. @default the shared server */
  via?: TestMediaServer;
  /** @default via.uri */
  mpUri?: string;
  /** @default a fresh credential of `via` */
  credential?: string;
}

/** Place a call and answer it with a cr-media/1 blob (see `Target`). */
async function answered(
  o: PlaceCallOptions = {},
  t: Target = {},
): Promise<{ call: SimCall; peer: SimMediaPeer; credential: string }> {
  const { harness = h, via = server } = t;
  const call = await harness.sim.placeCall({ tenantId: TENANT, ...o });
  const credential = t.credential ?? via.sessions.mint(call.id);
  const body = {
    ...answerBody(callbackFor(harness, call.id)),
    mediaConfig: {
      '@odata.type': '#microsoft.graph.appHostedMediaConfig',
      blob: blobFor(call, t.mpUri ?? via.uri, credential),
    },
  };
  const res = await graphAction(harness, call, 'answer', body);
  expect(res.status).toBeOneOf(GRAPH_SUCCESS);
  expect(call.media).toBeDefined();
  return { call, peer: call.media!, credential };
}

/** Answered, established with its initial roster, media streaming. */
async function streaming(o: PlaceCallOptions = {}, t: Target = {}) {
  const r = await answered(o, t);
  await r.call.waitFor('established');
  await r.peer.waitFor('streaming');
  return r;
}

const connOf = (callId: string, n = 0) => server.conns.filter((c) => c.hello?.callId === callId)[n];
const lastTs = (peer: SimMediaPeer): number => peer.sent.get('mixed')!.at(-1)!.timestamp;
const ticksSent = (peer: SimMediaPeer) => peer.sent.get('mixed')?.length ?? 0;
const waitTicks = (peer: SimMediaPeer, n: number) =>
  vi.waitFor(() => expect(ticksSent(peer)).toBeGreaterThanOrEqual(n), { timeout: 5000 });
/** Hang up and wait until the server got our END: then it has every frame we logged. */
async function hangUpAndDrain(call: SimCall, n = 0) {
  await call.hangUp();
  expect(call.media?.state).toBe('ended');
  await vi.waitFor(() => expect(connOf(call.id, n)?.end).toBe('call-ended'));
}
const userMsis = (call: SimCall): number[] =>
  call.participants
    .filter((p) => !p.info.identity.applicationInstance)
    .map((p) => Number(p.mediaStreams.find((s) => s.mediaType === 'audio')!.sourceId));
const stepsOf = (list: { timestamp: number }[]) =>
  new Set(list.slice(1).map((e, i) => e.timestamp - list[i]!.timestamp));

describe('connecting and streaming', () => {
  it('says HELLO with the blob credential and streams mixed + one track per speaker, byte-exact', async () => {
    const { call, peer, credential } = await streaming();
    expect(peer.blob).toMatchObject({ protocol: 'cr-media/1', callId: call.id, credential });
    const conn = connOf(call.id)!;
    expect(conn.hello).toEqual({ type: 'hello', callId: call.id, credential, peer: 'simulator/1' });
    expect(peer.welcome?.sessionId).toBe(conn.sessionId);
    expect(peer).toMatchObject({ connects: 1, attempts: 1, refusals: [] });
    await waitTicks(peer, 260); // more than a phrase: talk and pauses
    await hangUpAndDrain(call);

    const msis = userMsis(call);
    expect(msis).toHaveLength(2); // P2P: recorded user and the other side, not the bot
    expect([...peer.sent.keys()].sort()).toEqual(['mixed', ...msis.map((m) => `src-${m}`)].sort());
    // What the server got is exactly what the peer logged, frame by frame.
    expect(wireMap(audioByTrack(conn.frames))).toEqual(wireMap(peer.sent));
    // A media clock from the first frame's wall time, exactly +20 ms a tick, on every track.
    const mixed = peer.sent.get('mixed')!;
    expect(stepsOf(mixed)).toEqual(new Set([FRAME_MS]));
    expect(mixed[0]!.timestamp).toBeGreaterThanOrEqual(call.answer!.at);
    expect(mixed[0]!.timestamp).toBeLessThan(call.answer!.at + 1000);
    const start = mixed[0]!.timestamp;
    for (const m of msis) {
      const track = peer.sent.get(`src-${m}`)!;
      expect(stepsOf(track)).toEqual(new Set([FRAME_MS]));
      expect(track.at(-1)!.timestamp).toBe(mixed.at(-1)!.timestamp);
      // Deterministic speech per (MSI, frame index), with pauses sent as silence.
      for (const { timestamp, pcm } of track) {
        const samples = speechFrame(m, (timestamp - start) / FRAME_MS);
        expect(pcm?.toString('hex') ?? null).toBe(
          samples ? pcmBytes(samples).toString('hex') : null,
        );
      }
      expect(track.some((f) => f.pcm === null)).toBe(true);
      expect(track.some((f) => f.pcm !== null)).toBe(true);
    }
    // The mixed frame is the clipped sum of the speakers' frames of the same tick.
    const byTs = (m: number) =>
      new Map(peer.sent.get(`src-${m}`)!.map((f) => [f.timestamp, f.pcm]));
    const tracks = msis.map(byTs);
    let checked = 0;
    for (const { timestamp, pcm } of mixed) {
      const parts = tracks.map((t) => t.get(timestamp));
      if (parts.some((p) => p === undefined)) continue; // before the roster arrived
      const voices = parts.filter((p): p is Buffer => p !== null);
      if (voices.length === 0) {
        expect(pcm).toBeNull();
        continue;
      }
      const expected = Buffer.alloc(640);
      for (let i = 0; i < 320; i += 1) {
        const sum = voices.reduce((acc, v) => acc + v.readInt16LE(i * 2), 0);
        expected.writeInt16LE(Math.max(-32768, Math.min(32767, sum)), i * 2);
      }
      expect(pcm?.equals(expected)).toBe(true);
      checked += 1;
    }
    expect(checked).toBeGreaterThan(50);
    // Heartbeats went out, and the stream closed with END.
    expect(conn.frames.at(-1)).toEqual({ type: 'end', reason: 'call-ended' });
  });

  it('follows the roster from the next tick: mute, add, remove, at most four speakers', async () => {
    const { call, peer } = await streaming({ kind: 'meeting' });
    await waitTicks(peer, 20);
    const [first, second] = call.participants;
    const firstTrack = `src-${userMsis(call)[0]}`;
    const mutedAfter = lastTs(peer);
    await call.setMuted(first!.id, true);
    await waitTicks(peer, ticksSent(peer) + 20);
    const afterMute = peer.sent.get(firstTrack)!.filter((f) => f.timestamp > mutedAfter);
    expect(afterMute.length).toBeGreaterThanOrEqual(20);
    expect(afterMute.every((f) => f.pcm === null)).toBe(true);

    // Meeting: three users; two more make five, of whom only the first four are sent.
    const addedAfter = lastTs(peer);
    const guest = await call.addParticipant({ kind: 'guest' });
    const fifth = await call.addParticipant({ kind: 'phone' });
    await waitTicks(peer, ticksSent(peer) + 20);
    const guestTrack = `src-${guest.mediaStreams[0]!.sourceId}`;
    expect(peer.sent.get(guestTrack)![0]!.timestamp).toBe(addedAfter + FRAME_MS);
    expect(peer.sent.has(`src-${fifth.mediaStreams[0]!.sourceId}`)).toBe(false);

    const removedAfter = lastTs(peer);
    await call.removeParticipant(second!.id);
    await waitTicks(peer, ticksSent(peer) + 20);
    const secondTrack = peer.sent.get(`src-${second!.mediaStreams[0]!.sourceId}`)!;
    expect(secondTrack.at(-1)!.timestamp).toBe(removedAfter);
    // The fifth moved up into the four once someone left.
    expect(peer.sent.get(`src-${fifth.mediaStreams[0]!.sourceId}`)![0]!.timestamp).toBe(
      removedAfter + FRAME_MS,
    );
    await hangUpAndDrain(call);
    const perTick = new Map<number, number>();
    for (const f of connOf(call.id)!.frames) {
      if (f.type === 'audio' && f.kind === 'unmixed') {
        perTick.set(f.timestamp, (perTick.get(f.timestamp) ?? 0) + 1);
      }
    }
    expect(Math.max(...perTick.values())).toBe(4);
    expect(wireMap(audioByTrack(connOf(call.id)!.frames))).toEqual(wireMap(peer.sent));
  });

  it('announces the dominant speaker, and sends no video unless asked to', async () => {
    const { call, peer } = await streaming({ media: true });
    await waitTicks(peer, 120);
    await hangUpAndDrain(call);
    const frames = connOf(call.id)!.frames;
    const dominant = frames.filter((f) => f.type === 'dominantSpeaker');
    expect(dominant.length).toBeGreaterThan(0);
    expect(dominant.map(({ timestamp, sourceId }) => ({ timestamp, sourceId }))).toEqual(
      peer.dominantSpeakers,
    );
    expect(dominant.every((d) => userMsis(call).includes(d.sourceId))).toBe(true);
    // This simulator was started without video.
    expect(frames.some((f) => f.type === 'video')).toBe(false);
  });

  it('ignores a blob of another protocol: the call goes on without media', async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT });
    const res = await graphAction(h, call, 'answer', answerBody(callbackFor(h, call.id)));
    expect(res.status).toBeOneOf(GRAPH_SUCCESS);
    await call.waitFor('established');
    expect(call.media?.state).toBe('idle');
    expect(call.media?.blob).toBeUndefined();
    await call.hangUp();
    expect(call.media?.state).toBe('ended');
  });

  it('PlaceCallOptions.media: false leaves the call without a media peer', async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT, media: false });
    expect(call.media).toBeUndefined();
    await call.hangUp();
  });
});

describe('video', () => {
  it('an access unit every 5th tick per video MSI, a keyframe every 50th, as received', async () => {
    const hv = await startHarness({
      answerDeadlineMs: 10_000,
      media: { enabled: true, paceMs: 2, video: true },
    });
    extra.push(hv);
    await hv.graph.token(TENANT);
    const { call, peer } = await streaming({}, { harness: hv });
    await waitTicks(peer, 160);
    await hangUpAndDrain(call);
    const videoMsis = call.participants.flatMap((p) =>
      p.mediaStreams.filter((s) => s.mediaType === 'video').map((s) => `src-${s.sourceId}`),
    );
    expect(videoMsis).toHaveLength(2); // both users of the initial P2P roster have video
    expect([...peer.videoSent.keys()].sort()).toEqual(videoMsis.sort());
    const start = peer.sent.get('mixed')![0]!.timestamp;
    for (const list of peer.videoSent.values()) {
      expect(list.length).toBeGreaterThan(10);
      for (const { timestamp, data, keyframe } of list) {
        const tick = (timestamp - start) / FRAME_MS;
        expect(tick % 5).toBe(0);
        expect(keyframe).toBe(tick % 50 === 0);
        expect([...data.subarray(0, 5)]).toEqual([0, 0, 0, 1, keyframe ? 0x67 : 0x41]);
        if (keyframe) expect(data.includes(Buffer.from([0, 0, 0, 1, 0x65]))).toBe(true);
      }
      expect(list.some((v) => v.keyframe)).toBe(true);
    }
    const received = new Map<string, { timestamp: number; data: Buffer; keyframe: boolean }[]>();
    for (const f of connOf(call.id)!.frames) {
      if (f.type !== 'video') continue;
      const key = `src-${f.sourceId}`;
      received.set(key, [
        ...(received.get(key) ?? []),
        { timestamp: f.timestamp, data: f.data, keyframe: f.keyframe },
      ]);
    }
    expect(wireMap(received)).toEqual(wireMap(peer.videoSent));
  });
});

describe('reconnecting', () => {
  it('after dropSocket resumes with the token, leaving a real gap on the running clock', async () => {
    const { call, peer } = await streaming();
    await waitTicks(peer, 30);
    const token = peer.welcome!.resume;
    const session = peer.welcome!.sessionId;
    peer.dropSocket();
    await peer.waitFor('reconnecting');
    await peer.waitFor('streaming');
    expect(peer).toMatchObject({ connects: 2, attempts: 2 });
    const second = connOf(call.id, 1)!;
    expect(second.hello).toEqual({
      type: 'hello',
      callId: call.id,
      resume: token,
      peer: 'simulator/1',
    });
    expect(second.sessionId).toBe(session);
    await waitTicks(peer, ticksSent(peer) + 30);
    await hangUpAndDrain(call, 1);

    // About 100 ms of backoff at 2 ms a tick: tens of ticks never sent, and never logged.
    expect(peer.gaps).toHaveLength(1);
    const gap = peer.gaps[0]!;
    expect((gap.to - gap.from) / FRAME_MS).toBeGreaterThan(10);
    const mixed = peer.sent.get('mixed')!;
    expect(mixed.some((f) => f.timestamp >= gap.from && f.timestamp <= gap.to)).toBe(false);
    const before = mixed.filter((f) => f.timestamp < gap.from);
    const after = mixed.filter((f) => f.timestamp > gap.to);
    expect(before.at(-1)!.timestamp).toBe(gap.from - FRAME_MS);
    expect(after[0]!.timestamp).toBe(gap.to + FRAME_MS);
    expect(stepsOf(after)).toEqual(new Set([FRAME_MS]));
    // The resumed connection got exactly what was logged after the gap.
    const received = audioByTrack(second.frames).get('mixed')!;
    expect(wire(received)).toEqual(wire(after));
    // The first got a prefix of what was logged before (a destroyed socket loses its buffer).
    const first = audioByTrack(connOf(call.id, 0)!.frames).get('mixed')!;
    expect(wire(first)).toEqual(wire(before.slice(0, first.length)));
    expect(first.length).toBeGreaterThan(20);
  });

  it('resumes on another media process through reconnectUri', async () => {
    const other = await startMediaServer({ sessions: server.sessions });
    extra.push(other);
    const { call, peer } = await streaming();
    peer.reconnectUri = other.uri;
    peer.dropSocket();
    await peer.waitFor('reconnecting');
    await peer.waitFor('streaming');
    expect(other.welcomed()[0]?.hello?.resume).toBeDefined();
    await waitTicks(peer, ticksSent(peer) + 10);
    await call.hangUp();
    await vi.waitFor(() => expect(other.welcomed()[0]?.end).toBe('call-ended'));
  });

  it('gives up once the reconnect window passed; the leg itself goes on', async () => {
    const lonely = await startMediaServer({ reconnectWindowMs: 700 });
    const { call, peer } = await streaming({}, { via: lonely });
    await lonely.close(); // the media process is gone
    await peer.waitFor('reconnecting');
    await peer.waitFor('failed', 3000);
    expect(peer.failure).toMatch(/reconnect window/);
    // The first connection, then retries 100 and 300 ms after the loss; the next (700) is too late.
    expect(peer.attempts).toBe(3);
    expect(call.state).toBe('established');
    await call.hangUp();
  });
});

describe('failing to connect ends the leg 500/1005', () => {
  const closedPort = async (): Promise<number> => {
    const s = createTcpServer();
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const { port } = s.address() as AddressInfo;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    return port;
  };
  const endsWith1005 = async (call: SimCall, peer: SimMediaPeer) => {
    await call.waitFor('terminated');
    expect(call.result).toMatchObject({ code: 500, subcode: 1005 });
    expect(peer.state).toBe('failed');
    expect(call.userEvents.at(-1)).toMatchObject({ reason: 'mediaConnectFailed' });
  };

  it('when nothing listens', async () => {
    const port = await closedPort();
    const { call, peer } = await answered({}, { mpUri: `tls://localhost:${port}` });
    await endsWith1005(call, peer);
    expect(peer.failure).toMatch(/ECONNREFUSED/);
    expect(peer.attempts).toBe(1);
    expect(call.userOutcome).toBe('callCancelled');
  });

  it('when the TLS handshake never completes within connectTimeoutMs', async () => {
    const sockets: Socket[] = [];
    const silent = createTcpServer((socket) => {
      sockets.push(socket.on('error', () => undefined));
    });
    silent.on('error', () => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    extra.push({
      close: () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          silent.close(() => resolve());
        }),
    });
    const { port } = silent.address() as AddressInfo;
    const started = Date.now();
    const { call, peer } = await answered({}, { mpUri: `tls://localhost:${port}` });
    await endsWith1005(call, peer);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(peer.failure).toMatch(/no WELCOME within 1000 ms/);
  });

  it('when the media process refuses the credential', async () => {
    const { call, peer } = await answered({}, { credential: 'forged' });
    await endsWith1005(call, peer);
    expect(peer.refusals).toEqual(['bad-signature']);
  });

  it('when the certificate does not match the host name', async () => {
    const port = server.port;
    // The test certificate is for localhost and 127.0.0.1, not for this name.
    const { call, peer } = await answered({}, { mpUri: `tls://127.0.0.2:${port}` });
    await endsWith1005(call, peer);
  });
});

describe('faults', () => {
  it('reuseCredential is refused as reused; the session goes on', async () => {
    const { call, peer } = await streaming();
    await expect(peer.reuseCredential()).resolves.toBe('reused');
    expect(peer.refusals).toEqual(['reused']);
    expect(peer.state).toBe('streaming');
    await call.hangUp();
  });

  it('connectPlaintext: the TLS port hangs up on plaintext', async () => {
    const { call, peer } = await streaming();
    await expect(peer.connectPlaintext()).resolves.toBe('closed');
    await call.hangUp();
  });

  it('slowHandshake: closed once the server stops waiting for HELLO, open before', async () => {
    const impatient = await startMediaServer({ helloTimeoutMs: 150 });
    extra.push(impatient);
    const { call, peer } = await streaming({}, { via: impatient });
    await expect(peer.slowHandshake(50)).resolves.toBe('open');
    expect(peer.refusals).toEqual([]);
    await expect(peer.slowHandshake(1000)).resolves.toBe('closed');
    expect(peer.refusals).toEqual(['handshake-timeout']);
    expect(peer.state).toBe('streaming');
    await call.hangUp();
  });

  it('stall: nothing is sent for a while, heartbeats included, on the same connection', async () => {
    const { call, peer } = await streaming();
    await waitTicks(peer, 20);
    const stallStart = Date.now();
    peer.stall(600); // > heartbeatMs of 500
    await vi.waitFor(() => expect(Date.now() - stallStart).toBeGreaterThan(650));
    await waitTicks(peer, ticksSent(peer) + 10);
    expect(peer.connects).toBe(1);
    expect(peer.gaps).toHaveLength(1);
    expect((peer.gaps[0]!.to - peer.gaps[0]!.from) / FRAME_MS).toBeGreaterThan(100);
    await hangUpAndDrain(call);
    expect(wireMap(audioByTrack(connOf(call.id)!.frames))).toEqual(wireMap(peer.sent));
    const heartbeats = connOf(call.id)!.frames.filter(
      (f): f is Extract<Frame, { type: 'heartbeat' }> => f.type === 'heartbeat',
    );
    expect(heartbeats.length).toBe(peer.heartbeatsSent);
    expect(
      heartbeats.every((b) => b.timestamp < stallStart || b.timestamp >= stallStart + 600),
    ).toBe(true);
  });

  it('sendGarbage: the server ends the stream as a protocol error and the peer resumes', async () => {
    const { call, peer } = await streaming();
    await waitTicks(peer, 10);
    peer.sendGarbage();
    await vi.waitFor(() => expect(connOf(call.id)!.protocolError).toMatch(/version 255/));
    await peer.waitFor('reconnecting');
    await peer.waitFor('streaming');
    expect(peer.ends).toContain('protocol-error');
    expect(peer.connects).toBe(2);
    await call.hangUp();
  });

  it('failMedia drops the connection without END, and the leg ends 410/301005', async () => {
    const { call, peer } = await streaming();
    await waitTicks(peer, 10);
    await call.failMedia();
    expect(call.result).toMatchObject({ code: 410, subcode: 301005 });
    expect(peer.state).toBe('ended');
    const conn = connOf(call.id)!;
    await vi.waitFor(() => expect(conn.closed).toBe(true));
    expect(conn.end).toBeUndefined();
    const sentAtEnd = ticksSent(peer);
    await new Promise((r) => setTimeout(r, 30));
    expect(ticksSent(peer)).toBe(sentAtEnd);
  });

  it('fault helpers need a live connection', async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT });
    expect(() => call.media!.dropSocket()).toThrow(/no live media socket/);
    expect(() => call.media!.sendGarbage()).toThrow(/no live media socket/);
    await expect(call.media!.reuseCredential()).rejects.toThrow(/no cr-media\/1 blob/);
    await call.hangUp();
  });
});
