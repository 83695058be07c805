/**
 * `npm run calls -- <command>`: the operator API (docs/operator-api.md) in a terminal.
 *
 *   list   [--state S] [--tenant T] [--user U] [--failed] [--from T] [--to T] [--limit N] [--all]
 *   show   <callId>             the call, its participants, tracks and history as a table
 *   follow [--call ID] [--resume ID]   live transitions; reconnects and resumes by itself
 *
 * ADMIN_URL (default http://127.0.0.1:3978) and ADMIN_TOKEN come from the environment; the
 * token is sent only in the Authorization header and never printed.
 */
import { parseArgs } from 'node:util';
import { redactUrl } from '../config.js';
import type { CallDetail, CallSummary } from '../admin/call-view.js';
import type { TransitionEvent } from '../calls/transition-feed.js';
import { readSse } from './sse.js';

export class CliError extends Error {
  override name = 'CliError';
}

export interface CliEnv {
  url: string;
  token: string;
  out: (line: string) => void;
  /** Ends `follow`. */
  signal?: AbortSignal;
}

const time = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString());

async function request(env: CliEnv, path: string, init: RequestInit = {}): Promise<Response> {
  const where = redactUrl(env.url);
  // fetch refuses a URL with credentials; the token is the only credential this API takes
  const base = new URL(env.url);
  base.username = '';
  base.password = '';
  let res: Response;
  try {
    res = await fetch(`${base.origin}${base.pathname.replace(/\/+$/, '')}/admin/api${path}`, {
      ...init,
      headers: { authorization: `Bearer ${env.token}`, ...(init.headers ?? {}) },
    });
  } catch (error) {
    if (env.signal?.aborted) throw error;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(
      `cannot reach ${where}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
    );
  }
  if (res.status === 401) {
    throw new CliError(`${where} refused the token (401): check ADMIN_TOKEN`);
  }
  if (res.status === 404 && path === '/calls') {
    throw new CliError(`${where} has no operator API (404): is ADMIN_TOKEN set on the server?`);
  }
  if (res.status === 429) {
    throw new CliError(`${where} is rate limiting this client (429): retry later`);
  }
  return res;
}

async function json<T>(res: Response): Promise<T> {
  const body = (await res.json().catch(() => ({}))) as T & { error?: string; message?: string };
  if (!res.ok)
    throw new CliError(`${res.status} ${body.error ?? ''}: ${body.message ?? ''}`.trim());
  return body;
}

/** Fixed-width columns. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

const parseTime = (value: string | undefined, name: string): number | undefined => {
  if (value === undefined) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (Number.isNaN(ms)) throw new CliError(`--${name}: not a time (epoch ms or ISO 8601)`);
  return ms;
};

export async function list(env: CliEnv, args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      state: { type: 'string' },
      tenant: { type: 'string' },
      user: { type: 'string' },
      failed: { type: 'boolean' },
      from: { type: 'string' },
      to: { type: 'string' },
      limit: { type: 'string' },
      all: { type: 'boolean' },
    },
  });
  const query = new URLSearchParams();
  for (const key of ['state', 'tenant', 'user', 'limit'] as const) {
    if (values[key] !== undefined) query.set(key, values[key]);
  }
  if (values.failed) query.set('failed', 'true');
  const from = parseTime(values.from, 'from');
  const to = parseTime(values.to, 'to');
  if (from !== undefined) query.set('from', String(from));
  if (to !== undefined) query.set('to', String(to));
  const calls: CallSummary[] = [];
  for (let pages = 0; pages < 1000; pages += 1) {
    const page = await json<{ calls: CallSummary[]; nextCursor?: string }>(
      await request(env, `/calls?${query.toString()}`),
    );
    calls.push(...page.calls);
    if (!values.all || !page.nextCursor) break;
    query.set('cursor', page.nextCursor);
  }
  if (calls.length === 0) return env.out('no calls');
  const rows = [['CALL', 'TENANT', 'KIND', 'STATE', 'LIVE', 'RECEIVED', 'FAILURE']];
  for (const c of calls) {
    rows.push([
      c.callId,
      c.tenantId,
      c.kind,
      c.state,
      c.live ? 'yes' : 'no',
      time(c.receivedAt),
      c.failure?.text ?? '',
    ]);
  }
  table(rows).forEach((line) => env.out(line));
}

export async function show(env: CliEnv, args: string[]): Promise<void> {
  const callId = args[0];
  if (!callId) throw new CliError('usage: calls show <callId>');
  const res = await request(env, `/calls/${encodeURIComponent(callId)}`);
  if (res.status === 404) throw new CliError(`no call ${callId}`);
  const call = await json<CallDetail>(res);
  env.out(`call      ${call.callId} (${call.kind}, tenant ${call.tenantId})`);
  env.out(`state     ${call.state}${call.live ? ' (live)' : ''}, version ${call.version}`);
  env.out(
    `received  ${time(call.receivedAt)}   answered ${time(call.answeredAt)}   ended ${time(call.endedAt)}`,
  );
  if (call.failure) env.out(`failure   ${call.failure.kind}: ${call.failure.text}`);
  if (call.media) env.out(`media     session ${call.media.sessionId} ${call.media.state}`);
  if (call.traceUrl ?? call.traceId) env.out(`trace     ${call.traceUrl ?? call.traceId}`);
  if (call.recordingReports.length > 0) {
    env.out('');
    env.out('recording status reports');
    table([
      ['AT', 'STATUS', 'OK', 'HTTP'],
      ...call.recordingReports.map((r) => [
        time(r.at),
        r.status,
        r.ok ? 'yes' : 'no',
        r.httpStatus ? String(r.httpStatus) : '',
      ]),
    ]).forEach((line) => env.out(`  ${line}`));
  }
  if (call.participants.length > 0) {
    env.out('');
    env.out('participants');
    table([
      ['ID', 'KIND', 'JOINED', 'LEFT', 'SOURCES'],
      ...call.participants.map((p) => [
        p.id,
        p.displayKind ?? p.kind,
        time(p.joinedAt),
        time(p.leftAt),
        p.sourceIds.join(','),
      ]),
    ]).forEach((line) => env.out(`  ${line}`));
  }
  env.out('');
  env.out(
    `history (${call.history.length} transitions${call.historyDropped ? `, ${call.historyDropped} older ones not kept` : ''})`,
  );
  table([
    ['SEQ', 'AT', 'EVENT', 'FROM → TO', 'OUTCOME'],
    ...call.history.map((h) => [
      String(h.seq),
      time(h.at),
      h.event,
      `${h.from} → ${h.to}`,
      h.outcome ?? '',
    ]),
  ]).forEach((line) => env.out(`  ${line}`));
}

/** One line of a transition as `follow` prints it. */
export const transitionLine = (id: string, t: TransitionEvent): string =>
  `${time(t.at)}  ${t.callId}  ${t.event}  ${t.from} → ${t.to}${t.outcome ? `  (${t.outcome})` : ''}  [${id}]`;

const BACKOFF_MS = [500, 1000, 2000, 5000];

export async function follow(env: CliEnv, args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { call: { type: 'string' }, resume: { type: 'string' } },
  });
  let last = values.resume;
  const query = values.call ? `?callId=${encodeURIComponent(values.call)}` : '';
  for (let failures = 0; !env.signal?.aborted;) {
    try {
      const res = await request(env, `/events${query}`, {
        headers: { accept: 'text/event-stream', ...(last ? { 'last-event-id': last } : {}) },
        ...(env.signal ? { signal: env.signal } : {}),
      });
      if (!res.ok || !res.body) await json(res);
      failures = 0;
      for await (const item of readSse(res.body!)) {
        if (item.kind !== 'message') continue;
        if (item.event === 'truncated') env.out('(some transitions were missed: resumed too late)');
        if (item.event !== 'transition' || !item.id) continue;
        last = item.id;
        env.out(transitionLine(item.id, JSON.parse(item.data) as TransitionEvent));
      }
    } catch (error) {
      if (env.signal?.aborted) return;
      // a refused token or a missing API will not fix itself
      if (error instanceof CliError && /\((401|404)\)/.test(error.message)) throw error;
      const wait = BACKOFF_MS[Math.min(failures, BACKOFF_MS.length - 1)]!;
      failures += 1;
      env.out(`(disconnected: ${(error as Error).message}; resuming in ${wait} ms)`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

const USAGE = `usage: npm run calls -- <list|show|follow> [options]
  list   [--state S] [--tenant T] [--user U] [--failed] [--from T] [--to T] [--limit N] [--all]
  show   <callId>
  follow [--call ID] [--resume EVENT_ID]
environment: ADMIN_URL (default http://127.0.0.1:3978), ADMIN_TOKEN (required)`;

export async function main(argv: string[], environment: NodeJS.ProcessEnv): Promise<number> {
  const [command, ...args] = argv;
  const token = environment.ADMIN_TOKEN;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (!command || !['list', 'show', 'follow'].includes(command)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  if (!token) {
    process.stderr.write('ADMIN_TOKEN is not set: the operator API needs it\n');
    return 2;
  }
  const url = (environment.ADMIN_URL ?? 'http://127.0.0.1:3978').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(url)) {
    process.stderr.write(`ADMIN_URL is not an http(s) URL: ${redactUrl(url)}\n`);
    return 2;
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const env: CliEnv = { url, token, out, signal: controller.signal };
  try {
    if (command === 'list') await list(env, args);
    else if (command === 'show') await show(env, args);
    else await follow(env, args);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`calls: ${message.split(token).join('[redacted]')}\n`);
    return 1;
  }
}
