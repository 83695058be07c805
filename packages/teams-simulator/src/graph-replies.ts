/**
 * The shapes real Graph gives a successful call action. The same action comes back as 202 with
 * no body, 202 with an empty body labelled `application/json`
 * (microsoftgraph/msgraph-sdk-javascript#156), 200 with `{}`, 200 with an operation object, or
 * 204; a bot must take every one as success. The simulator picks one per request from a seeded
 * generator: every run of five consecutive successes is a shuffle of all five shapes, so any
 * test that makes a few Graph requests sees all of them, and a seed reproduces the order.
 */
import { randomUUID } from 'node:crypto';
import type { Reply } from './routes.js';

export const SUCCESS_SHAPES = [
  'empty-202',
  'empty-json-202',
  'empty-object-200',
  'operation-200',
  'no-content-204',
] as const;
export type SuccessShape = (typeof SUCCESS_SHAPES)[number];

/** The next shape, from shuffled rounds of all shapes (mulberry32 drives the shuffle). */
export function seededShapes(seed: number): () => SuccessShape {
  let state = seed >>> 0;
  const random = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let round: SuccessShape[] = [];
  return () => {
    if (round.length === 0) {
      round = [...SUCCESS_SHAPES];
      for (let i = round.length - 1; i > 0; i -= 1) {
        const j = Math.floor(random() * (i + 1));
        [round[i], round[j]] = [round[j]!, round[i]!];
      }
    }
    return round.pop()!;
  };
}

/** A success reply of `shape` for an action on `callId` (`operation` names its @odata.type). */
export function successReply(
  shape: SuccessShape,
  graphBaseUrl: string,
  callId: string,
  operation: string,
): Reply {
  switch (shape) {
    case 'empty-202':
      return { status: 202 };
    case 'empty-json-202':
      return { status: 202, rawBody: '', contentType: 'application/json' };
    case 'empty-object-200':
      return { status: 200, body: {} };
    case 'no-content-204':
      return { status: 204 };
    case 'operation-200': {
      const id = randomUUID();
      return {
        status: 200,
        headers: { location: `${graphBaseUrl}/communications/calls/${callId}/operations/${id}` },
        body: {
          '@odata.type': `#microsoft.graph.${operation}`,
          id,
          clientContext: null,
          resultInfo: null,
          status: 'completed',
        },
      };
    }
  }
}
