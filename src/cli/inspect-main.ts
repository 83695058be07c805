/**
 * Entry point of `npm run inspect -- <callId> [--out FILE] [--port N] [--sky]` (development
 * only; docs/operator-api.md). Reads ADMIN_URL and ADMIN_TOKEN from the environment like
 * `npm run calls`. By default the replay is served on 127.0.0.1 for a local browser; `--out`
 * writes the sanitised inspection events to a file instead; `--sky` uploads them to Stately's
 * cloud (createSkyInspector) and is never the default.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createSkyInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import type { CallDetail } from '../admin/call-view.js';
import { redactUrl } from '../config.js';
import { replayCall, sanitizeContext, sanitizeEvent } from './inspect.js';
import { startInspectBridge } from './inspect-bridge.js';
import type { CallContext } from '../../machines/call.js';

async function run(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { out: { type: 'string' }, port: { type: 'string' }, sky: { type: 'boolean' } },
  });
  const callId = positionals[0];
  const token = process.env.ADMIN_TOKEN;
  const url = (process.env.ADMIN_URL ?? 'http://127.0.0.1:3978').replace(/\/+$/, '');
  if (!callId || !token) {
    process.stderr.write(
      'usage: ADMIN_TOKEN=… npm run inspect -- <callId> [--out FILE] [--port N] [--sky]\n',
    );
    return 2;
  }
  let res: Response;
  try {
    res = await fetch(`${url}/admin/api/calls/${encodeURIComponent(callId)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
  } catch (error) {
    process.stderr.write(`cannot reach ${redactUrl(url)}: ${(error as Error).message}\n`);
    return 1;
  }
  if (!res.ok) {
    process.stderr.write(`${redactUrl(url)} answered ${res.status} for call ${callId}\n`);
    return 1;
  }
  const call = (await res.json()) as CallDetail;
  if (call.historyDropped > 0) {
    process.stderr.write(
      `the first ${call.historyDropped} transitions are no longer kept: the replay starts without them\n`,
    );
  }
  const events: StatelyInspectionEvent[] = [];
  const result = await replayCall(call, (event) => events.push(event));
  for (const d of result.divergences) {
    process.stderr.write(
      `seq ${d.seq} ${d.event}: recorded ${d.recorded}, replayed ${d.replayed}\n`,
    );
  }
  process.stdout.write(
    `replayed ${call.history.length} transitions, final state ${result.finalState}, ${events.length} inspection events\n`,
  );
  if (values.out) {
    await writeFile(values.out, JSON.stringify(events, null, 2));
    process.stdout.write(`written to ${values.out}\n`);
    return 0;
  }
  if (values.sky) {
    process.stdout.write('--sky: uploading the sanitised replay to Stately (stately.ai)\n');
    const sky = createSkyInspector({
      sanitizeContext: (context) => sanitizeContext(context as CallContext),
      sanitizeEvent,
    });
    for (const event of events) sky.adapter.send(event);
    return 0;
  }
  const bridge = await startInspectBridge(events, values.port ? Number(values.port) : 0);
  process.stdout.write(`open ${bridge.url} in a browser; Ctrl-C ends\n`);
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  await bridge.close();
  return 0;
}

process.exitCode = await run();
