/** The facts a result needs to be compared with the next run on another day or machine. */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { Redis } from 'ioredis';

export interface MachineFacts {
  cpuCount: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  redis: string;
  /** 1-minute load average when the run started: another tenant on a shared box shows here. */
  loadAvg1m: number;
  gitCommit: string;
}

function git(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { encoding: 'utf8' }).trim();
    return dirty ? `${head} (uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
}

/** Fields of an `INFO` section as a map. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0 && !line.startsWith('#')) fields.set(line.slice(0, at), line.slice(at + 1));
  }
  return fields;
}

/** The Redis server's process id when it runs on this machine (its CPU can then be read). */
export async function redisPid(redisUrl: string): Promise<number | undefined> {
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(new URL(redisUrl).hostname)) return undefined;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const pid = Number(parseInfo(await redis.info('server')).get('process_id'));
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } finally {
    redis.disconnect();
  }
}

export async function machineFacts(redisUrl: string): Promise<MachineFacts> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const info = parseInfo(await redis.info('server'));
    const cpu = cpus();
    return {
      cpuCount: cpu.length,
      cpuModel: cpu[0]?.model.trim() ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      os: `${process.platform} ${release()}`,
      node: process.version,
      redis: `${info.get('redis_version') ?? '?'} (${redisUrl})`,
      loadAvg1m: Number(loadavg()[0]?.toFixed(2)),
      gitCommit: git(),
    };
  } finally {
    redis.disconnect();
  }
}
