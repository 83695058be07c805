/**
 * Counting Redis traffic two ways. On the client: wrap an ioredis client's `sendCommand` and
 * count what crosses the wire, by category and command name, and the round trips (a command
 * sent inside a pipeline carries that pipeline's `stream` argument: the commands of one
 * pipeline share one round trip, counted for the category of its first command). On the
 * server: `INFO commandstats` deltas, which also count the commands a Lua script runs.
 */
import type { Redis } from 'ioredis';
import { parseInfo } from './machine.js';

export type Tally = Map<string, number>;

export const add = (tally: Tally, name: string, n = 1): void => {
  tally.set(name, (tally.get(name) ?? 0) + n);
};

export const total = (tally: Tally): number => [...tally.values()].reduce((s, n) => s + n, 0);

export interface WireCounter {
  /** category → command name → count, while enabled. */
  readonly tallies: Map<string, Tally>;
  /** Commands sent inside a pipeline (not a round trip each). */
  pipelined: number;
  /** category → round trips: a command on its own, or a whole pipeline. */
  readonly trips: Tally;
  enabled: boolean;
  reset(): void;
}

/** The first key a command names (`EVALSHA sha numkeys key…` → the first key). */
export function firstKey(name: string, args: readonly unknown[]): string | undefined {
  const at = name === 'evalsha' || name === 'eval' || name === 'fcall' ? 2 : 0;
  const value = args[at];
  return typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString() : undefined;
}

export function countWire(
  client: Redis,
  categorize: (name: string, args: readonly unknown[]) => string,
): WireCounter {
  const counter: WireCounter = {
    tallies: new Map(),
    pipelined: 0,
    trips: new Map(),
    enabled: false,
    reset() {
      counter.tallies.clear();
      counter.trips.clear();
      counter.pipelined = 0;
    },
  };
  const pipelines = new WeakSet<object>();
  const original = client.sendCommand.bind(client);
  client.sendCommand = (command, stream) => {
    if (counter.enabled) {
      const category = categorize(command.name, command.args);
      let tally = counter.tallies.get(category);
      if (!tally) counter.tallies.set(category, (tally = new Map<string, number>()));
      add(tally, command.name);
      if (stream !== undefined) counter.pipelined += 1;
      if (stream === undefined || !pipelines.has(stream)) add(counter.trips, category);
      if (stream !== undefined) pipelines.add(stream);
    }
    return original(command, stream);
  };
  return counter;
}

/** `INFO commandstats` as command → calls (the INFO command itself left out). */
export async function commandStats(observer: Redis): Promise<Tally> {
  const stats: Tally = new Map();
  for (const [field, value] of parseInfo(await observer.info('commandstats'))) {
    const name = field.replace(/^cmdstat_/, '');
    const calls = /calls=(\d+)/.exec(value)?.[1];
    if (calls !== undefined && name !== 'info') stats.set(name, Number(calls));
  }
  return stats;
}

export function delta(after: Tally, before: Tally): Tally {
  const out: Tally = new Map();
  for (const [name, n] of after) {
    const d = n - (before.get(name) ?? 0);
    if (d > 0) out.set(name, d);
  }
  return out;
}
