/**
 * B1's floor: the least a recorder can do per invite and still be correct about who is calling —
 * verify the Teams JWT with the orchestrator's own verifier, then POST the answer inline through
 * the orchestrator's own Graph port (msal token source + Graph client, the same answer body),
 * and only then 202. No Redis, no queue, no state. Other notifications: verify, 202. Served by
 * Hono on @hono/node-server like the ingress, so the ratio isolates what the ingress adds on top
 * of the same HTTP stack (durable state, the queue, the worker hop). It runs in a process of its
 * own (`b1-floor-main.ts`), so its CPU is metered like the system's roles.
 */
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { buildAnswerBody } from '../../src/graph/answer-body.js';
import { createGraphCalls } from '../../src/graph/calls.js';
import { createTokenSource } from '../../src/graph/tokens.js';
import { HttpError } from '../../src/http/http-error.js';
import { createTeamsTokenVerifier } from '../../src/http/teams-auth.js';
import { MediaCredentials } from '../../src/media/credentials.js';
import type { Simulator } from '@cr-orchestrator/teams-simulator';
import { BOT_APP_ID, BOT_APP_SECRET } from '../helpers/system.js';

export interface Floor {
  readonly url: string;
  /** Requests the floor could not serve (a failed verification or Graph POST). */
  readonly errors: string[];
  close(): Promise<void>;
}

interface Notification {
  changeType?: string;
  resourceData?: { id?: string; state?: string };
}

/** What the floor needs of the simulator: where to verify tokens, get Graph tokens and call Graph. */
export type FloorPlatform = Pick<
  Simulator,
  'openIdConfigUrl' | 'issuer' | 'graphBaseUrl' | 'authorityHost'
>;

export async function startFloor(sim: FloorPlatform, port: number): Promise<Floor> {
  const verifier = createTeamsTokenVerifier({
    openIdConfigUrl: sim.openIdConfigUrl,
    issuers: [sim.issuer],
    audience: BOT_APP_ID,
  });
  const graph = createGraphCalls({
    graphBaseUrl: sim.graphBaseUrl,
    tokens: createTokenSource({
      clientId: BOT_APP_ID,
      clientSecret: BOT_APP_SECRET,
      authorityHost: sim.authorityHost,
    }),
  });
  const credentials = new MediaCredentials('bench-floor-media-credential-secret-000');
  const url = `http://127.0.0.1:${port}`;
  const callbackUri = `${url}/api/calling`;
  const errors: string[] = [];
  const app = new Hono();
  app.get('/readyz', (c) => c.body(null, 200));
  app.onError((error, c) => {
    errors.push(error.message);
    return c.body(null, error instanceof HttpError ? error.status : 500);
  });
  app.post('/api/calling', async (c) => {
    const caller = await verifier.verify(c.req.header('authorization'));
    const body = JSON.parse(await c.req.text()) as { value?: Notification[] };
    for (const n of body.value ?? []) {
      const data = n.resourceData;
      const invite =
        n.changeType?.toLowerCase() === 'created' && data?.state?.toLowerCase() === 'incoming';
      if (!invite || !data?.id) continue;
      const answer = buildAnswerBody(
        data.id,
        {
          callbackUri,
          mediaHost: 'localhost',
          mediaPort: 8445,
          participantCapacity: 1,
          credentials,
        },
        Date.now(),
      );
      await graph.answer(caller.tenantId, data.id, answer, AbortSignal.timeout(5000));
    }
    return c.body(null, 202);
  });
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
  return {
    url,
    errors,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
