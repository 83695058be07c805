/**
 * Operator routes under `/admin`, behind a bearer token (`ADMIN_TOKEN`; absent = no routes):
 * read a call (its live state, or the compact record once it finished and expired) and end a
 * call from the bot's side (stop recording, report `notRecording`, hang up).
 */
import { Hono } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { CALL_ID_PATTERN } from '../redis/keys.js';
import { stateName, type CallRuntime } from '../calls/runtime.js';
import { HttpError } from './http-error.js';

export function adminRoutes(runtime: CallRuntime, token: string, now: () => number): Hono {
  const admin = new Hono();
  admin.use('*', bearerAuth({ token }));
  const callIdOf = (raw: string): string => {
    if (!CALL_ID_PATTERN.test(raw)) throw new HttpError(400, 'invalid_call_id', 'not a call id');
    return raw;
  };

  admin.get('/calls/:id', async (c) => {
    const callId = callIdOf(c.req.param('id'));
    const call = await runtime.getCall(callId);
    if (call) {
      return c.json({
        callId,
        version: call.version,
        state: stateName(call.snapshot),
        done: call.snapshot.status === 'done',
        context: call.snapshot.context,
      });
    }
    const record = await runtime.getRecord(callId);
    if (record) return c.json({ ...record, expired: true });
    throw new HttpError(404, 'not_found', `no call ${callId}`);
  });

  admin.post('/calls/:id/hangup', async (c) => {
    const callId = callIdOf(c.req.param('id'));
    const result = await runtime.applyEvent(callId, {
      type: 'CALL.HANGUP',
      at: now(),
      reason: 'operator',
    });
    if (result.outcome !== 'committed') {
      throw new HttpError(
        409,
        'not_live',
        `call ${callId} is not live (${JSON.stringify(result)})`,
      );
    }
    return c.json({ callId, state: result.to }, 202);
  });

  return admin;
}
