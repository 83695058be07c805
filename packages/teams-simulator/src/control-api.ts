/**
 * The `/_sim/*` control API for running the simulator alone (`npm run simulator`): place a call,
 * look at it, hang it up. Served on the simulator's own HTTPS server when
 * `SimulatorOptions.controlApi` is set; these requests are not part of `Simulator.requests`.
 *
 *   POST /_sim/calls               JSON PlaceCallOptions → 201 {id}
 *   GET  /_sim/calls               → 200 {value: call[]}
 *   GET  /_sim/calls/{id}          → 200 call
 *   POST /_sim/calls/{id}/hangup   JSON {code?, subcode?} → 202
 */
import { z } from 'zod';
import type { Reply } from './routes.js';
import type { Simulator } from './types.js';

const TOKEN_MODES = [
  'valid',
  'expired',
  'wrongAudience',
  'wrongIssuer',
  'algNone',
  'unknownKid',
  'noTid',
  'badSignature',
] as const;

const PlaceCallBody = z.strictObject({
  kind: z.enum(['p2p', 'meeting']).optional(),
  tenantId: z.string().min(1).optional(),
  userId: z.string().min(1).optional(),
  callId: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,128}$/)
    .optional(),
  swapEstablishOrder: z.boolean().optional(),
  duplicateNotifications: z.boolean().optional(),
  casing: z.enum(['docs', 'real']).optional(),
  holdMs: z.number().int().min(0).optional(),
  tokenMode: z.enum(TOKEN_MODES).optional(),
  initialRoster: z.boolean().optional(),
  rosterMode: z.enum(['full', 'delta']).optional(),
  complianceRecording: z.boolean().optional(),
  media: z.boolean().optional(),
  policy: z
    .strictObject({
      requiredBeforeCallEstablishment: z.boolean().optional(),
      requiredDuringCall: z.boolean().optional(),
      requiredBeforeMeetingJoin: z.boolean().optional(),
      requiredDuringMeeting: z.boolean().optional(),
    })
    .optional(),
});

const HangUpBody = z.strictObject({
  code: z.number().int().optional(),
  subcode: z.number().int().optional(),
});

const CALL_PATH = /^\/_sim\/calls\/([^/]+)(\/hangup)?$/;

const problem = (status: number, message: string): Reply => ({ status, body: { error: message } });

async function readJson<T>(req: Request, schema: z.ZodType<T>): Promise<T | Reply> {
  const text = await req.text();
  let json: unknown;
  try {
    json = text === '' ? {} : JSON.parse(text);
  } catch {
    return problem(400, 'body is not JSON');
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : problem(400, z.prettifyError(parsed.error));
}

const isReply = (v: unknown): v is Reply => typeof v === 'object' && v !== null && 'status' in v;

export async function handleControl(req: Request, path: string, sim: Simulator): Promise<Reply> {
  if (path === '/_sim/calls') {
    if (req.method === 'GET') return { status: 200, body: { value: [...sim.calls.values()] } };
    if (req.method !== 'POST') return problem(405, 'use GET or POST');
    const opts = await readJson(req, PlaceCallBody);
    if (isReply(opts)) return opts;
    try {
      const call = await sim.placeCall(opts);
      return { status: 201, body: { id: call.id } };
    } catch (err) {
      return problem(409, (err as Error).message);
    }
  }
  const match = CALL_PATH.exec(path);
  const call = match ? sim.calls.get(decodeURIComponent(match[1] ?? '')) : undefined;
  if (!match || !call) return problem(404, `no such call or route: ${path}`);
  if (!match[2]) {
    return req.method === 'GET' ? { status: 200, body: call } : problem(405, 'use GET');
  }
  if (req.method !== 'POST') return problem(405, 'use POST');
  const opts = await readJson(req, HangUpBody);
  if (isReply(opts)) return opts;
  // Answer before the notifications went out; the caller can poll the call for the outcome.
  call.hangUp(opts).catch(() => undefined);
  return { status: 202 };
}
