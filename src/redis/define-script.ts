/**
 * The one way this code runs Lua on Redis. A script is a file in `./lua/` (read once, when the
 * module that defines it loads, so a missing file stops start-up), sent by EVALSHA; only when
 * the server answers NOSCRIPT (a restart, a failover, SCRIPT FLUSH, a cluster node that has
 * never run it) is the text sent again, by EVAL, which also caches it there. EVALSHA and EVAL
 * are routed by their first key, so this works unchanged on Redis Cluster.
 *
 * The keys and arguments are typed as tuples, so a call with a missing or extra key or
 * argument does not compile, and every reply goes through the script's `decode`, which checks
 * its shape instead of trusting a cast.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './client.js';

export type ScriptArg = string | number;

/** A Lua script with its KEYS tuple `K`, ARGV tuple `A` and decoded reply `R`. */
export interface Script<
  K extends readonly [string, ...string[]],
  A extends readonly ScriptArg[],
  R,
> {
  /** The file name without `.lua`. */
  readonly name: string;
  /** SHA1 of the script text: what EVALSHA sends instead of the text. */
  readonly sha: string;
  run(redis: RedisClient, keys: K, args: A): Promise<R>;
  /**
   * Add the EVALSHA to a pipeline (one round trip with other commands). Its reply goes through
   * `decode`; a NOSCRIPT error (`isNoScript`) means: `run` it instead, which loads the text.
   */
  queue(pipeline: ChainableCommander, keys: K, args: A): void;
  decode(reply: unknown): R;
  isNoScript(error: unknown): boolean;
}

/** The directory of the scripts; `npm run build` copies it next to the compiled module. */
const LUA_DIR = new URL('./lua/', import.meta.url);

export function defineScript<
  K extends readonly [string, ...string[]],
  A extends readonly ScriptArg[],
  R,
>(name: string, decode: (reply: unknown) => R): Script<K, A, R> {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`bad script name ${JSON.stringify(name)}`);
  const lua = readFileSync(new URL(`${name}.lua`, LUA_DIR), 'utf8');
  const sha = createHash('sha1').update(lua).digest('hex');
  return {
    name,
    sha,
    decode,
    isNoScript,
    queue(pipeline, keys, args) {
      pipeline.evalsha(sha, keys.length, ...keys, ...args);
    },
    async run(redis, keys, args) {
      let reply: unknown;
      try {
        reply = await redis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (!isNoScript(error)) throw error;
        reply = await redis.eval(lua, keys.length, ...keys, ...args);
      }
      return decode(reply);
    },
  };
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/** Decoders for the reply shapes the scripts use. */
export const reply = {
  /** An integer reply. */
  integer: (value: unknown): number => {
    if (typeof value !== 'number')
      throw new TypeError(`script replied ${typeof value}, not an integer`);
    return value;
  },
  /** One of the given status strings. */
  oneOf:
    <const T extends string>(...allowed: T[]) =>
    (value: unknown): T => {
      const found = allowed.find((a) => a === value);
      if (found === undefined) throw new TypeError(`unexpected script reply ${String(value)}`);
      return found;
    },
  /** A flat array of integers and strings. */
  array: (value: unknown): (string | number)[] => {
    if (!Array.isArray(value)) throw new TypeError('script reply is not an array');
    return value.map((item: unknown) => {
      if (typeof item !== 'string' && typeof item !== 'number')
        throw new TypeError(`script reply holds a ${typeof item}`);
      return item;
    });
  },
};
