/**
 * Opens Redis for every role: one server, or a Redis Cluster reached through seed nodes
 * (`REDIS_CLUSTER`). The rest of the code runs unchanged on both because nothing it sends spans
 * two slots: every key of a call carries the `{callId}` hash tag and every BullMQ key the
 * `{prefix-q}` tag (./keys.ts), and the other keys are only touched by single-key commands.
 */
import { Cluster, Redis, type ClusterNode, type RedisOptions } from 'ioredis';

/** A connection the orchestrator can use: a single server or a cluster. */
export type RedisClient = Redis | Cluster;

export interface RedisConnectOptions {
  /** Treat the URL(s) as seed nodes of a Redis Cluster. @default false */
  cluster?: boolean;
  /** Queue commands while disconnected; false fails them at once (the HTTP path). @default true */
  enableOfflineQueue?: boolean;
  /** Retries of a command across reconnects; BullMQ workers need null. @default 20 */
  maxRetriesPerRequest?: number | null;
  /**
   * Fail a command that has no reply after this long. Only a connected but hung Redis needs
   * it (a dead one fails at once); a timed-out command that was sent may still run later,
   * which the commit's atomicity and the notification dedup make harmless. @default none
   */
  commandTimeoutMs?: number;
}

/** The comma-separated URLs of `REDIS_URL`. */
function redisSeeds(urls: string): string[] {
  return urls
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Connect to `urls`: one `redis://` / `rediss://` URL, or with `cluster` one or more seed nodes
 * (`redis://h1:7000,redis://h2:7001`). In a cluster the first seed's user, password and TLS
 * apply to every node the client discovers.
 */
export function connectRedis(urls: string, options: RedisConnectOptions = {}): RedisClient {
  const { cluster = false, enableOfflineQueue, maxRetriesPerRequest, commandTimeoutMs } = options;
  const seeds = redisSeeds(urls);
  const first = seeds[0];
  if (first === undefined) throw new Error('no Redis URL given');
  const common: RedisOptions = {
    ...(maxRetriesPerRequest === undefined ? {} : { maxRetriesPerRequest }),
    ...(commandTimeoutMs === undefined ? {} : { commandTimeout: commandTimeoutMs }),
  };
  if (!cluster) {
    if (seeds.length > 1) throw new Error('several Redis URLs need cluster mode (REDIS_CLUSTER)');
    return new Redis(first, {
      ...common,
      ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    });
  }
  const url = new URL(first);
  return new Cluster(seeds.map(seedNode), {
    // Cluster-wide rather than per node: ioredis keeps each node's own offline queue on and
    // consults this one before it hands a command to a node.
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    // BullMQ reads a Cluster's `maxRetriesPerRequest` here (it must be null for a Worker)
    redisOptions: {
      ...common,
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    },
  });
}

function seedNode(seed: string): ClusterNode {
  const url = new URL(seed);
  return {
    host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: Number(url.port || 6379),
  };
}
