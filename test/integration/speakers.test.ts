/**
 * Speaker attribution end to end over real TLS sockets, Redis and files: the media process
 * learns the call's roster from the call's committed state, writes who owns each source id
 * into the recording's manifest as the roster changes mid-call, and writes no track for a
 * source id the roster never announced. The finalized manifest names the owner of every
 * unmixed track over time; verify checks it; the call's compact record keeps who was there.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '@cr-orchestrator/media-protocol';
import { verifyRecording } from '../../src/media/recording/index.js';
import { ATTR, METRIC } from '../../src/telemetry/index.js';
import { manifestOf } from '../helpers/recordings.js';
import { callReaches, eventually, startSystem, type System } from '../helpers/system.js';

let system: System;

beforeAll(async () => {
  system = await startSystem({
    name: 'speakers',
    media: { inProcess: true },
    sim: { media: { enabled: true, paceMs: 10 } },
  });
});
afterAll(async () => {
  await system?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('speaker attribution in a recording', () => {
  it('names the owner of every unmixed track over time, as the roster changes mid-call', async () => {
    const call = await system.sim.placeCall({ kind: 'meeting', rosterSequenceNumbers: false });
    await call.waitFor('established', 8000);
    await callReaches(system, call.id, 'recording', 8000);
    await sleep(500);
    // a meeting bot joins (application + guest identities, a video it only receives), then a
    // guest who speaks for a while and leaves
    const bot = await call.addParticipant({ kind: 'application', receiveVideo: true });
    const guest = await call.addParticipant({ kind: 'guest' });
    await sleep(800);
    await call.removeParticipant(guest.id);
    // audio of a source id the roster never announced
    const stray = 900_001;
    // on the peer's media clock, a little ahead of it, as a real sender's frames would be
    const clock = call.media!.sent.get('mixed')!.at(-1)!.timestamp + 100;
    for (let i = 0; i < 10; i++) {
      call.media!.sendGarbage(
        encodeFrame({
          type: 'audio',
          kind: 'unmixed',
          sourceId: stray,
          timestamp: clock + i * 20,
          silence: false,
          pcm: Buffer.alloc(640, 7),
        }),
      );
    }
    await eventually(
      async () =>
        (await system.metrics.value(METRIC.framesDropped, {
          [ATTR.dropReason]: 'unannounced-source',
        })) >= 10
          ? true
          : undefined,
      5000,
      'the stray source to be dropped',
    );
    await sleep(300);
    await call.hangUp();
    const dir = join(system.config.recordingsDir, call.id);
    const manifest = await eventually(
      async () => {
        const entries = await manifestOf(dir).catch(() => undefined);
        return entries?.some((e) => e.type === 'finalized') ? entries : undefined;
      },
      10_000,
      'the recording to be finalized',
    );

    const result = await verifyRecording(dir);
    expect(result.problems).toEqual([]);
    const unmixed = [...call.media!.sent.keys()]
      .filter((t) => t.startsWith('src-'))
      .filter((t) => existsSync(join(dir, 'final', `${t}.wav`)));
    expect(unmixed.length).toBeGreaterThanOrEqual(3);
    const byTrack = new Map(result.speakers.map((s) => [s.track, s]));
    for (const track of unmixed)
      expect(byTrack.get(track)?.owners.length, track).toBeGreaterThan(0);
    expect(existsSync(join(dir, 'final', `src-${stray}.wav`))).toBe(false);

    // the bot: both identities, and only its audio is its source
    const botAudio = bot.mediaStreams.find((s) => s.mediaType === 'audio')!.sourceId;
    const botVideo = bot.mediaStreams.find((s) => s.direction === 'receiveOnly')!.sourceId;
    expect(byTrack.get(`src-${botAudio}`)?.owners).toEqual([
      expect.objectContaining({
        participantId: bot.id,
        kind: 'application',
        identities: [
          { kind: 'application', id: bot.info.identity.application!.id },
          { kind: 'guest', id: bot.info.identity.guest!.id },
        ],
      }),
    ]);
    expect(byTrack.has(`src-${botVideo}`)).toBe(false);
    // the guest left mid-call: its ownership ended before the recording did
    const guestAudio = guest.mediaStreams.find((s) => s.mediaType === 'audio')!.sourceId;
    const finalized = manifest.find((e) => e.type === 'finalized')!;
    const [guestOwner] = byTrack.get(`src-${guestAudio}`)!.owners;
    expect(guestOwner).toMatchObject({ participantId: guest.id, kind: 'guest' });
    expect(guestOwner!.to).toBeLessThan(finalized.at as number);
    // the roster changed mid-call: several speakers entries, all in the chain verify checked
    expect(manifest.filter((e) => e.type === 'speakers').length).toBeGreaterThanOrEqual(3);

    // the compact record keeps every participant with join and leave times
    await callReaches(system, call.id, 'terminated');
    const record = await eventually(() => system.core.runtime.getRecord(call.id));
    const guestStint = record.participants.find((p) => p.id === guest.id)!;
    const botStint = record.participants.find((p) => p.id === bot.id)!;
    expect(guestStint.leftAt).toBeLessThan(botStint.leftAt!);
    expect(botStint).toMatchObject({ kind: 'application', sources: [botAudio] });
  }, 40_000);
});
