/**
 * What the media peer sends in one 20 ms tick, decided from the roster at that tick
 * (docs/teams-protocol.md#media): one mixed frame and up to four unmixed frames — the participants
 * other than the bot, not in the lobby, with an audio MSI, in roster order — silence frames for the
 * muted and for pauses; with video, an access unit every 5th tick per video MSI, a keyframe
 * every 50th. Pure apart from the dominant-speaker tracker's memory.
 */
import type { Frame } from '@cr-orchestrator/media-protocol';
import { accessUnit, mixFrames, pcmBytes, speechFrame } from './media-synth.js';
import type { SimParticipant } from './types.js';

export const MAX_UNMIXED = 4;
export const VIDEO_EVERY = 5;
export const KEYFRAME_EVERY = 50;
/** A dominant speaker who has been silent this many ticks (200 ms) yields to another. */
const DOMINANT_HOLD_TICKS = 10;

type AudioFrame = Extract<Frame, { type: 'audio' }>;
type VideoFrame = Extract<Frame, { type: 'video' }>;

export interface TickFrames {
  audio: AudioFrame[];
  video: VideoFrame[];
  /** Source ids of this tick's speakers, in roster order. */
  present: number[];
  /** Those of them whose frame is not silent. */
  speaking: number[];
}

const heard = (p: SimParticipant): boolean => !p.info.identity.applicationInstance && !p.isInLobby;

/** The participant's own sources: streams it sends, not those it only receives. */
const msi = (p: SimParticipant, types: string[]): number[] =>
  p.mediaStreams
    .filter((s) => types.includes(s.mediaType) && s.direction !== 'receiveOnly')
    .map((s) => Number.parseInt(s.sourceId, 10))
    .filter((id) => Number.isInteger(id) && id >= 0);

/** The (at most four) speakers of a tick: source id and whether the roster has them muted. */
export function speakersOf(participants: SimParticipant[]): { sourceId: number; muted: boolean }[] {
  return participants
    .filter(heard)
    .flatMap((p) =>
      msi(p, ['audio'])
        .slice(0, 1)
        .map((sourceId) => ({ sourceId, muted: p.isMuted })),
    )
    .slice(0, MAX_UNMIXED);
}

export function videoSourcesOf(participants: SimParticipant[]): number[] {
  return participants.filter(heard).flatMap((p) => msi(p, ['video', 'videoBasedScreenSharing']));
}

export function composeTick(
  participants: SimParticipant[],
  tick: number,
  timestamp: number,
  video: boolean,
): TickFrames {
  const audio: AudioFrame[] = [];
  const voices: Int16Array[] = [];
  const speaking: number[] = [];
  const speakers = speakersOf(participants);
  for (const { sourceId, muted } of speakers) {
    const samples = muted ? null : speechFrame(sourceId, tick);
    if (samples) {
      voices.push(samples);
      speaking.push(sourceId);
    }
    audio.push(frame('unmixed', sourceId, timestamp, samples));
  }
  audio.unshift(frame('mixed', 0, timestamp, mixFrames(voices)));
  const present = speakers.map((s) => s.sourceId);
  const frames: TickFrames = { audio, video: [], present, speaking };
  if (video && tick % VIDEO_EVERY === 0) {
    const keyframe = tick % KEYFRAME_EVERY === 0;
    for (const sourceId of videoSourcesOf(participants)) {
      const data = accessUnit(sourceId, tick, keyframe);
      frames.video.push({ type: 'video', sourceId, timestamp, keyframe, data });
    }
  }
  return frames;
}

function frame(
  kind: AudioFrame['kind'],
  sourceId: number,
  timestamp: number,
  samples: Int16Array | null,
): AudioFrame {
  if (!samples) return { type: 'audio', kind, sourceId, timestamp, silence: true };
  return { type: 'audio', kind, sourceId, timestamp, silence: false, pcm: pcmBytes(samples) };
}

/**
 * The dominant speaker: the first speaking one in roster order, kept while they pause for less
 * than 200 ms, so the announcement does not flicker between syllables.
 */
export class DominantSpeaker {
  current: number | undefined;
  private quietTicks = 0;

  /** Feed one tick; returns the dominant speaker after it (undefined until someone spoke). */
  update(speaking: number[], present: number[]): number | undefined {
    if (this.current !== undefined && !present.includes(this.current)) this.current = undefined;
    if (this.current !== undefined && speaking.includes(this.current)) this.quietTicks = 0;
    else this.quietTicks += 1;
    const next = speaking[0];
    if (
      next !== undefined &&
      (this.current === undefined || this.quietTicks >= DOMINANT_HOLD_TICKS)
    ) {
      this.current = next;
      this.quietTicks = 0;
    }
    return this.current;
  }
}
