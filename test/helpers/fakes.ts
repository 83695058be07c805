/**
 * In-memory stand-ins for the ingress's ports, for tests that check HTTP behaviour as a value
 * (`createApp` + `app.request()`) without Redis or sockets. The real runtime and verifier have
 * their own tests; these only record what the app asked and answer what the test chose.
 */
import type { CallEvent } from '../../machines/call.js';
import type { ApplyOptions, ApplyResult, CallRuntime } from '../../src/calls/runtime.js';
import { HttpError } from '../../src/http/http-error.js';
import type { KeyHealth, TeamsCaller, TeamsTokenVerifier } from '../../src/http/teams-auth.js';

export interface AppliedEvent {
  callId: string;
  event: CallEvent;
  options: ApplyOptions | undefined;
}

export interface FakeRuntime extends CallRuntime {
  /** Every `applyEvent` call, in order. */
  readonly applied: AppliedEvent[];
  /** The outcome the next `applyEvent` calls answer (default: committed). */
  outcome: ApplyResult;
  activeCalls: number;
}

export function fakeRuntime(): FakeRuntime {
  const runtime: FakeRuntime = {
    applied: [],
    outcome: {
      outcome: 'committed',
      version: 1,
      from: 'idle',
      to: 'idle',
      effects: 0,
      conflicts: 0,
    },
    activeCalls: 0,
    applyEvent(callId, event, options) {
      runtime.applied.push({ callId, event, options });
      return Promise.resolve(runtime.outcome);
    },
    getCall: () => Promise.resolve(undefined),
    activeCallCount: () => Promise.resolve(runtime.activeCalls),
    getRecord: () => Promise.resolve(undefined),
  };
  return runtime;
}

/**
 * Accepts `Bearer <token>` for the tokens it was given (token → tenant id) and refuses anything
 * else the way the real verifier does: a 401 with a `WWW-Authenticate` challenge.
 */
export function fakeVerifier(tenantsByToken: Record<string, string>): TeamsTokenVerifier {
  return {
    verify(authorization): Promise<TeamsCaller> {
      const token = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
      const tenantId = token === undefined ? undefined : tenantsByToken[token];
      if (tenantId === undefined) {
        return Promise.reject(
          new HttpError(401, 'unauthorized', 'bad token', {
            'www-authenticate': 'Bearer error="invalid_token"',
          }),
        );
      }
      return Promise.resolve({ tenantId, claims: { tid: tenantId } });
    },
    checkKeys: (): Promise<KeyHealth> => Promise.resolve({ ok: true }),
  };
}
