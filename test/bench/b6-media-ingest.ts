/**
 * B6 media-ingest: concurrent cr-media/1 streams (a mixed-audio frame of 640 B every 20 ms, 50
 * per second each) into one media process. The calls are real: placed by the simulator (its own
 * media peer off), answered by an ingress and a worker process, whose answer blob carries the
 * endpoint and the single-use credential; the bench then streams each call's audio with the
 * test suite's pattern peer (test/helpers/pattern-peer.ts: every sample of frame i is i + 1),
 * ends each stream with END and reads the finalised recording back.
 *
 * Floor in the same run (b6-floor.ts, a process of its own): a raw TLS 1.3 reader that answers
 * HELLO with WELCOME and discards every byte, fed by the same peers for as long.
 *
 * Correctness: in each recording, from the first recorded frame (frames before Graph confirmed
 * the recording are not kept, by design) to the last one sent, every 640-byte block must be
 * byte for byte the pattern of its frame: a zero block is a lost frame, any other difference a
 * corrupt one.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../../src/dev/local-redis.js';
import { PCM_FRAME_BYTES } from '@cr-orchestrator/media-protocol';
import type { SimCall } from '@cr-orchestrator/teams-simulator';
import { patternPcm, PatternPeer } from '../helpers/pattern-peer.js';
import { wavData } from '../helpers/recordings.js';
import { mediaEnv } from '../helpers/system.js';
import {
  meterCpu,
  openLoop,
  sleep,
  startBenchSystem,
  startRole,
  until,
  type CpuTime,
} from './harness/index.js';
import { listening } from '../helpers/role-process.js';

export interface B6Options {
  quick: boolean;
  redisUrl: string;
}

export interface B6Side {
  target: 'media' | 'floor';
  streams: number;
  /** Streams that got a WELCOME. */
  welcomed: number;
  framesSent: number;
  /** Frames per stream per second actually sent by the generator (50 is the plan). */
  framesPerStreamPerSec: number;
  cpu: Record<string, CpuTime>;
  /** CPU µs per frame of the receiving process. */
  cpuUsPerFrame: number;
  /** streams ÷ cores the receiving process used. */
  streamsPerCore: number;
}

export interface B6Result {
  id: 'B6';
  setup: string;
  media: B6Side;
  floor: B6Side;
  cpuRatio: number;
  recordings: {
    checked: number;
    missing: number;
    framesRecorded: number;
    lostFrames: number;
    /** Of those, frames among the last ten each peer sent before END. */
    lostInLast10: number;
    corruptFrames: number;
    /** Frames sent before the first recorded one (before Graph confirmed the recording). */
    notYetPersisted: number;
  };
  notes: string[];
}

interface Stream {
  callId: string;
  peer: PatternPeer;
}

async function stream(
  targets: { callId: string; credential: string }[],
  port: number,
  pid: number | undefined,
  name: 'media' | 'floor',
  durationMs: number,
): Promise<{ side: B6Side; streams: Stream[] }> {
  const streams = targets.map((t) => ({
    callId: t.callId,
    peer: new PatternPeer(port, t.callId, () => false),
  }));
  // connect over a second, not all in one burst
  await openLoop({
    ratePerSec: Math.max(1, streams.length),
    durationMs: 1000,
    fire: (i) => {
      const s = streams[i];
      const credential = targets[i]?.credential;
      return s && credential
        ? s.peer.start({ credential }).catch(() => undefined)
        : Promise.resolve();
    },
  });
  await sleep(1000);
  const sentBefore = streams.reduce((n, s) => n + s.peer.sent.length, 0);
  const cpu = meterCpu({ bench: process.pid, [name]: pid });
  const started = performance.now();
  await sleep(durationMs);
  const used = cpu.stop();
  const seconds = (performance.now() - started) / 1000;
  const frames = streams.reduce((n, s) => n + s.peer.sent.length, 0) - sentBefore;
  const welcomed = streams.filter((s) => s.peer.welcome).length;
  const cores = used[name]?.total ?? Number.NaN;
  return {
    streams,
    side: {
      target: name,
      streams: streams.length,
      welcomed,
      framesSent: frames,
      framesPerStreamPerSec: frames / Math.max(1, welcomed) / seconds,
      cpu: used,
      cpuUsPerFrame: (cores * seconds * 1e6) / Math.max(1, frames),
      streamsPerCore: welcomed / cores,
    },
  };
}

/** Lost and corrupt frames of one recording against the pattern its peer sent. */
async function check(
  dir: string,
  peer: PatternPeer,
): Promise<
  | { recorded: number; lost: number; corrupt: number; before: number; lostInLast10: number }
  | undefined
> {
  const file = join(dir, 'final', 'mixed.wav');
  let pcm: Buffer;
  try {
    pcm = await wavData(file);
  } catch {
    return undefined;
  }
  const blocks = Math.floor(pcm.length / PCM_FRAME_BYTES);
  let first = -1;
  for (let b = 0; b < blocks && first < 0; b += 1)
    if (pcm.readInt16LE(b * PCM_FRAME_BYTES) !== 0) first = b;
  const lastSent = peer.sent.length - 1;
  if (first < 0) return { recorded: 0, lost: lastSent + 1, corrupt: 0, before: 0, lostInLast10: 0 };
  const firstIndex = pcm.readInt16LE(first * PCM_FRAME_BYTES) - 1;
  let recorded = 0;
  let lost = 0;
  let corrupt = 0;
  let lostInLast10 = 0;
  for (let index = firstIndex; index <= lastSent; index += 1) {
    const b = first + (index - firstIndex);
    const block =
      b < blocks ? pcm.subarray(b * PCM_FRAME_BYTES, (b + 1) * PCM_FRAME_BYTES) : undefined;
    if (!block || block.every((x) => x === 0)) {
      lost += 1;
      if (lastSent - index < 10) lostInLast10 += 1;
    } else if (!block.equals(patternPcm(index, 'A'))) corrupt += 1;
    else recorded += 1;
  }
  return { recorded, lost, corrupt, before: firstIndex, lostInLast10 };
}

export async function runB6(options: B6Options): Promise<B6Result> {
  const streams = options.quick ? 100 : 500;
  const durationMs = options.quick ? 15_000 : 60_000;
  const notes = options.quick ? [`quick mode: ${streams} streams for ${durationMs / 1000} s`] : [];
  const media = await mediaEnv();
  const system = await startBenchSystem({
    name: 'b6',
    redisUrl: options.redisUrl,
    replicas: 1,
    env: {
      ...media,
      MEDIA_HEARTBEAT_MS: '1000',
      MEDIA_MAX_CONNECTIONS: String(streams * 2 + 100),
      MEDIA_ARRIVAL_TIMEOUT_MS: String(10 * 60_000),
    },
    sim: { answerDeadlineMs: 60_000 },
  });
  const mediaRole = startRole('media-0', 'src/roles/media/main.ts', system.env);
  const floorPort = await freePort();
  const floor = startRole('b6-floor', 'test/bench/b6-floor.ts', {
    BENCH_PORT: String(floorPort),
    MEDIA_TLS_CERT_FILE: media.MEDIA_TLS_CERT_FILE!,
    MEDIA_TLS_KEY_FILE: media.MEDIA_TLS_KEY_FILE!,
  });
  const calls: SimCall[] = [];
  try {
    await Promise.all([listening(Number(media.MEDIA_PORT)), listening(floorPort)]);
    console.log(`B6: placing ${streams} calls`);
    await openLoop({
      ratePerSec: 50,
      durationMs: (streams * 1000) / 50,
      fire: async () => {
        const call = await system.sim.placeCall({ kind: 'p2p', media: false });
        calls.push(call);
        await call.waitFor('established', 60_000).catch(() => undefined);
      },
    });
    const targets = calls
      .filter((c) => c.state === 'established' && c.answer)
      .map((c) => {
        const body = c.answer!.body as { mediaConfig: { blob: string } };
        const blob = JSON.parse(body.mediaConfig.blob) as { credential: string };
        return { callId: c.id, credential: blob.credential };
      });
    if (targets.length < calls.length)
      notes.push(`${calls.length - targets.length} calls not established, not streamed`);
    console.log(`B6: ${targets.length} streams into the media process for ${durationMs / 1000} s`);
    const ours = await stream(
      targets,
      Number(media.MEDIA_PORT),
      mediaRole.child.pid,
      'media',
      durationMs,
    );
    for (const s of ours.streams) s.peer.stop('end');
    console.log('B6: the same streams into the floor');
    const bare = await stream(
      targets.map((t) => ({ callId: t.callId, credential: 'floor' })),
      floorPort,
      floor.child.pid,
      'floor',
      durationMs,
    );
    for (const s of bare.streams) s.peer.stop('drop');
    // every recording finalised (END seals it), then read back
    const dirOf = (callId: string) => join(media.RECORDINGS_DIR!, callId);
    const results = await until(
      async () => {
        const checked = await Promise.all(ours.streams.map((s) => check(dirOf(s.callId), s.peer)));
        return checked.every((c) => c !== undefined) ? checked : undefined;
      },
      30_000,
      'every recording finalised',
    ).catch(async () => Promise.all(ours.streams.map((s) => check(dirOf(s.callId), s.peer))));
    type Checked = NonNullable<Awaited<ReturnType<typeof check>>>;
    const found: Checked[] = [];
    for (const r of results) if (r !== undefined) found.push(r);
    const sum = (f: (r: Checked) => number) => found.reduce((n, r) => n + f(r), 0);
    return {
      id: 'B6',
      setup:
        `1 ingress + 1 worker + 1 media process, Redis ${options.redisUrl}; ${targets.length} ` +
        `answered calls each streaming mixed PCM (640 B per 20 ms) from the bench process with ` +
        `TLS 1.3 for ${durationMs / 1000} s after a 1 s ramp, recorded to disk and read back; ` +
        `floor: a raw TLS reader process fed the same streams`,
      media: ours.side,
      floor: bare.side,
      cpuRatio: ours.side.cpuUsPerFrame / bare.side.cpuUsPerFrame,
      recordings: {
        checked: found.length,
        missing: results.length - found.length,
        framesRecorded: sum((r) => r.recorded),
        lostFrames: sum((r) => r.lost),
        lostInLast10: sum((r) => r.lostInLast10),
        corruptFrames: sum((r) => r.corrupt),
        notYetPersisted: sum((r) => r.before),
      },
      notes,
    };
  } finally {
    await Promise.allSettled(calls.filter((c) => c.state === 'established').map((c) => c.hangUp()));
    await Promise.all([mediaRole.stop(), floor.stop()]);
    await system.close();
    await rm(media.RECORDINGS_DIR!, { recursive: true, force: true });
  }
}
