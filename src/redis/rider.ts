/**
 * A rider: small commands that follow a commit without a round trip of their own. The snapshot
 * store sends them in the pipeline of the next commit (or in one batch of their own within its
 * `ackDelayMs`), then hands them their replies. Only on a single Redis server: a cluster cannot
 * pipeline keys of different slots.
 */
import type { ChainableCommander } from 'ioredis';

/** A reply of a pipeline: the command's error or its result. */
export type PipelineReply = [error: Error | null, result: unknown];

export interface Rider {
  /** Adds the commands to `pipeline`; returns how many it added. */
  queue(pipeline: ChainableCommander): number;
  /**
   * Called with the replies of those commands (none of them an error). What it does next, it
   * awaits; a rejection counts as a failure of the rider.
   */
  settle?(replies: PipelineReply[]): Promise<void> | void;
}
