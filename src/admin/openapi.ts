/**
 * The OpenAPI 3.1 description of the operator API (`GET /admin/api/openapi.json`), written by
 * hand next to the routes (src/http/admin.ts); test/unit/admin-api.test.ts checks that every
 * route it lists answers and every route the app serves is listed.
 */
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const error = (description: string) => ({ description, ...json(ref('Error')) });
const str = { type: 'string' };
const num = { type: 'number' };
const int = { type: 'integer' };
const bool = { type: 'boolean' };
const callId = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' },
};
const guarded = {
  '401': error('Missing or wrong bearer token'),
  '429': error('Too many requests from this client (see Retry-After)'),
};

export const ADMIN_OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'cr-orchestrator operator API',
    version: '1.0.0',
    description:
      'Read the calls of this orchestrator (live and recent), their history and failures in words, follow transitions live, end a call. Times are epoch milliseconds.',
  },
  servers: [{ url: '/admin/api' }],
  security: [{ bearer: [] }],
  paths: {
    '/calls': {
      get: {
        summary: 'Live and recent calls, newest first',
        parameters: [
          { name: 'state', in: 'query', schema: str, description: 'a state or a segment of it' },
          { name: 'tenant', in: 'query', schema: str },
          { name: 'user', in: 'query', schema: str, description: 'recorded user id' },
          { name: 'failed', in: 'query', schema: { enum: ['true', 'false'] } },
          { name: 'from', in: 'query', schema: int, description: 'invite at or after (ms)' },
          { name: 'to', in: 'query', schema: int, description: 'invite at or before (ms)' },
          { name: 'cursor', in: 'query', schema: str },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200 } },
        ],
        responses: {
          '200': {
            description: 'A page of calls',
            ...json({
              type: 'object',
              required: ['calls'],
              properties: { calls: { type: 'array', items: ref('CallSummary') }, nextCursor: str },
            }),
          },
          '400': error('Bad query parameter'),
          ...guarded,
        },
      },
    },
    '/calls/{id}': {
      get: {
        summary: 'One call in detail',
        parameters: [callId],
        responses: {
          '200': { description: 'The call', ...json(ref('CallDetail')) },
          '400': error('Not a call id'),
          '404': error('No such call (or it expired)'),
          ...guarded,
        },
      },
    },
    '/calls/{id}/hangup': {
      post: {
        summary: 'End a call from the bot side (stop recording, report notRecording, hang up)',
        parameters: [callId],
        responses: {
          '202': {
            description: 'Accepted',
            ...json({ type: 'object', properties: { callId: str, state: str } }),
          },
          '400': error('Not a call id'),
          '409': error('The call is not live'),
          ...guarded,
        },
      },
    },
    '/machine': {
      get: {
        summary: 'The call machine definition (xstate JSON)',
        responses: {
          '200': {
            description: 'Definition',
            ...json({
              type: 'object',
              properties: { id: str, version: int, definition: { type: 'object' } },
            }),
          },
          ...guarded,
        },
      },
    },
    '/events': {
      get: {
        summary: 'Server-sent events: every committed transition of every call, all replicas',
        parameters: [
          { name: 'callId', in: 'query', schema: str },
          {
            name: 'Last-Event-ID',
            in: 'header',
            schema: { type: 'string', pattern: '^\\d+-\\d+$' },
          },
        ],
        responses: {
          '200': {
            description:
              'A `: connected` comment first, once every transition committed afterwards will be sent; then `event: transition` with `id:` (resumable) and `data:` a Transition; a `: heartbeat` comment when idle; `event: truncated` when a resume missed more than is replayed',
            content: { 'text/event-stream': { schema: ref('Transition') } },
          },
          '400': error('Bad Last-Event-ID or callId'),
          '503': error('Too many open event streams on this replica'),
          ...guarded,
        },
      },
    },
    '/config': {
      get: {
        summary: 'What the console needs to know',
        responses: {
          '200': {
            description: 'Config',
            ...json({ type: 'object', properties: { jaegerUiUrl: str, machineVersion: int } }),
          },
          ...guarded,
        },
      },
    },
    '/openapi.json': {
      get: {
        summary: 'This document',
        responses: { '200': { description: 'OpenAPI 3.1' }, ...guarded },
      },
    },
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Error: {
        type: 'object',
        required: ['error'],
        properties: { error: str, message: str },
      },
      Failure: {
        type: 'object',
        required: ['kind', 'text'],
        properties: {
          kind: {
            enum: [
              'deadline-missed',
              'graph-refused',
              'media-lost',
              'keepalive-expired',
              'rejected-by-policy',
              'platform-ended',
              'other',
            ],
          },
          text: str,
          code: str,
        },
      },
      CallSummary: {
        type: 'object',
        required: [
          'callId',
          'tenantId',
          'kind',
          'state',
          'live',
          'receivedAt',
          'updatedAt',
          'failed',
          'version',
        ],
        properties: {
          callId: str,
          tenantId: str,
          kind: { enum: ['p2p', 'meeting'] },
          state: {
            type: 'string',
            description: 'dotted path; the machine state id is call.<state>',
          },
          live: bool,
          recordedUserId: str,
          receivedAt: num,
          answeredAt: num,
          endedAt: num,
          updatedAt: num,
          failed: bool,
          failure: ref('Failure'),
          version: int,
        },
      },
      HistoryEntry: {
        type: 'object',
        required: ['seq', 'event', 'from', 'to', 'at'],
        properties: {
          seq: int,
          event: str,
          from: str,
          to: str,
          at: num,
          traceId: str,
          outcome: str,
        },
      },
      Transition: {
        allOf: [
          ref('HistoryEntry'),
          {
            type: 'object',
            required: ['callId', 'tenantId', 'live'],
            properties: { callId: str, tenantId: str, live: bool },
          },
        ],
      },
      CallDetail: {
        allOf: [
          ref('CallSummary'),
          {
            type: 'object',
            required: ['participants', 'tracks', 'recordingReports', 'history', 'historyDropped'],
            properties: {
              participants: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: str,
                    kind: { enum: ['user', 'guest', 'application', 'phone'] },
                    displayKind: str,
                    joinedAt: num,
                    leftAt: num,
                    sourceIds: { type: 'array', items: str },
                    muted: bool,
                  },
                },
              },
              tracks: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    sourceId: str,
                    owners: {
                      type: 'array',
                      items: {
                        type: 'object',
                        properties: { participantId: str, from: num, to: num },
                      },
                    },
                  },
                },
              },
              recordingReports: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { status: str, at: num, ok: bool, httpStatus: int },
                },
              },
              media: {
                type: 'object',
                properties: { sessionId: str, state: str, owner: str, bytes: int, segments: int },
              },
              history: { type: 'array', items: ref('HistoryEntry') },
              historyDropped: int,
              traceId: str,
              traceUrl: str,
            },
          },
        ],
      },
    },
  },
} as const;
