/**
 * The payload corpus of test/fixtures/teams/ (written from Microsoft's public docs, see its
 * README): load a body with the call's ids filled in, and deliver it through the simulator's
 * signed webhook POST to the ingress.
 */
import { readFileSync } from 'node:fs';
import type { System } from './system.js';

const DIR = new URL('../fixtures/teams/', import.meta.url);

export function corpusBody(name: string, ids: { callId: string; tenantId: string }): unknown {
  const text = readFileSync(new URL(name, DIR), 'utf8')
    .replaceAll('{{callId}}', ids.callId)
    .replaceAll('{{tenantId}}', ids.tenantId);
  return JSON.parse(text);
}

/**
 * POST a corpus body for the call; the simulator gives it fresh message ids unless `headers`
 * say otherwise (an empty value removes a header). Fails unless the ingress answered 202.
 */
export async function replay(
  system: System,
  name: string,
  ids: { callId: string; tenantId: string },
  headers?: Record<string, string>,
): Promise<void> {
  const res = await system.sim.deliver(corpusBody(name, ids), {
    tenantId: ids.tenantId,
    ...(headers ? { headers } : {}),
  });
  if (res.status !== 202)
    throw new Error(`${name}: the ingress answered ${res.status} ${res.body}`);
}
