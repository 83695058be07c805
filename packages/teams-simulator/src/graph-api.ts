/**
 * The fake Graph calls API (docs/teams-protocol.md#answer, #recording-status, #other-operations):
 * answer / reject / DELETE / keepAlive / updateRecordingStatus / GET under
 * `/v1.0/communications/calls/{id}`. Each request needs a Graph token from the fake Entra for the
 * call's tenant. Checks run in the order a real service plausibly applies them: token → call exists
 * → tenant → body → call still in the right state.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { SimCallImpl } from './call-state.js';
import { callNotFound, graphError, type ErrorReply } from './graph-errors.js';
import { successReply, type SuccessShape } from './graph-replies.js';
import { RecordingStatusBody } from './recording-status.js';
import type { Reply, RequestContext } from './routes.js';
import type { TokenService } from './tokens.js';

export interface GraphDeps {
  calls: ReadonlyMap<string, SimCallImpl>;
  tokens: TokenService;
  graphBaseUrl: string;
  /** The shape of this request's success reply (graph-replies.ts). */
  successShape(): SuccessShape;
}

const isHttpUrl = (v: string): boolean => {
  try {
    return ['https:', 'http:'].includes(new URL(v).protocol);
  } catch {
    return false;
  }
};
const oneOf = (values: string[]) =>
  z.string().refine((v) => values.includes(v.toLowerCase()), `must be one of ${values.join(', ')}`);
const callbackUri = z.string().refine(isHttpUrl, 'must be an http(s) URL').optional();

const AnswerBody = z.looseObject({
  callbackUri,
  acceptedModalities: z.array(oneOf(['audio', 'video', 'videobasedscreensharing', 'data'])).min(1),
  mediaConfig: z.looseObject({
    '@odata.type': z.literal('#microsoft.graph.appHostedMediaConfig'),
    blob: z.string().min(1),
  }),
  participantCapacity: z.number().int().positive().optional(),
});
const RejectBody = z.looseObject({
  reason: oneOf(['none', 'busy', 'forbidden']).optional(),
  callbackUri,
});

type Parsed<T> = { ok: true; data: T } | { ok: false; reply: ErrorReply };

function parse<T>(schema: z.ZodType<T>, text: string, crid?: string): Parsed<T> {
  let json: unknown;
  try {
    json = JSON.parse(text === '' ? '{}' : text);
  } catch {
    return {
      ok: false,
      reply: graphError(400, 'BadRequest', 'The request is invalid: body is not JSON.', crid),
    };
  }
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, data: result.data };
  const issues = result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
  const message = `The request is invalid: ${issues.join('; ')}`;
  return { ok: false, reply: graphError(400, 'BadRequest', message, crid) };
}

export async function handleGraph(ctx: RequestContext, deps: GraphDeps): Promise<Reply> {
  const { req, classified } = ctx;
  const crid = req.headers.get('client-request-id') ?? undefined;
  const auth = await deps.tokens.checkGraphToken(req.headers.get('authorization') ?? undefined);
  if (!auth.ok) return graphError(401, 'InvalidAuthenticationToken', auth.reason, crid);
  const call = classified.callId === undefined ? undefined : deps.calls.get(classified.callId);
  if (!call) return callNotFound(crid);
  if (call.tenantId !== auth.tenantId) {
    return graphError(
      401,
      'InvalidAuthenticationToken',
      `The token is for tenant ${auth.tenantId}, the call belongs to another tenant.`,
      crid,
    );
  }
  const ok = (operation: string): Reply =>
    successReply(deps.successShape(), deps.graphBaseUrl, call.id, operation);
  switch (classified.route) {
    case 'answer': {
      const parsed = parse(AnswerBody, ctx.text, crid);
      if (!parsed.ok) return parsed.reply;
      const body = parsed.data;
      // Already answered, rejected, ended or past the deadline: the invite is gone
      // (microsoftgraph/microsoft-graph-comms-samples#191).
      if (!call.isPending()) return callNotFound(crid);
      call.acceptAnswer(body, ctx.path);
      return ok('answerOperation');
    }
    case 'reject': {
      const parsed = parse(RejectBody, ctx.text, crid);
      if (!parsed.ok) return parsed.reply;
      const body = parsed.data;
      if (!call.isPending()) return callNotFound(crid);
      call.acceptReject(body.reason?.toLowerCase() ?? 'none', body.callbackUri);
      return ok('rejectOperation');
    }
    case 'delete':
      if (call.isEnded()) return callNotFound(crid);
      call.endByBot();
      return ok('commsOperation');
    case 'keepAlive':
      if (!call.isLive()) return callNotFound(crid);
      call.acceptKeepAlive();
      return ok('commsOperation');
    case 'updateRecordingStatus': {
      const parsed = parse(RecordingStatusBody, ctx.text, crid);
      if (!parsed.ok) return parsed.reply;
      const body = parsed.data;
      if (!call.isLive()) return callNotFound(crid);
      if (!call.complianceRecording) {
        // The code and message are observed (microsoftgraph/microsoft-graph-comms-samples#444,
        // microsoftgraph/microsoft-graph-comms-samples#515); the HTTP status is not known
        // (docs/teams-protocol.md#unknowns), 403 is our guess for "not allowed".
        const message = 'API call not allowed for non-Compliance Recording call';
        return graphError(403, '8506', message, crid);
      }
      // The server records the request in the call's ledger once this reply is decided.
      const opId = randomUUID();
      return {
        status: 200,
        headers: {
          location: `${deps.graphBaseUrl}/communications/calls/${call.id}/operations/${opId}`,
        },
        body: {
          '@odata.type': '#microsoft.graph.updateRecordingStatusOperation',
          clientContext: body.clientContext,
          id: opId,
          resultInfo: null,
          status: 'completed',
        },
      };
    }
    case 'getCall':
      if (call.state === 'terminated') return callNotFound(crid);
      return { status: 200, body: call.graphView() };
    default:
      return graphError(400, 'BadRequest', `Unsupported request ${req.method} ${ctx.path}.`, crid);
  }
}
