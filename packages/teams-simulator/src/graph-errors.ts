/**
 * Error bodies: Graph's `{error:{code, message, innerError:{'request-id', date}}}`
 * (docs/teams-protocol.md#answer, #errors-and-retries) and Entra's OAuth error shape for the
 * token endpoint.
 */
import { randomUUID } from 'node:crypto';

export interface ErrorReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Graph's error dates carry no milliseconds ("2021-07-16T10:00:00"). */
const graphDate = (): string => new Date().toISOString().slice(0, 19);

export function graphError(
  status: number,
  code: string,
  message: string,
  clientRequestId?: string,
): ErrorReply {
  const requestId = randomUUID();
  return {
    status,
    body: {
      error: {
        code,
        message,
        innerError: {
          'request-id': requestId,
          date: graphDate(),
          ...(clientRequestId && { 'client-request-id': clientRequestId }),
        },
      },
    },
    headers: { 'request-id': requestId },
  };
}

// HTTP status for comms code 8522 is not documented; keepAlive's docs use 404 for an ended
// call, so 404 is the best guess (docs/teams-protocol.md#answer, #unknowns).
export const callNotFound = (clientRequestId?: string): ErrorReply =>
  graphError(404, '8522', 'Call not found.', clientRequestId);

/** Entra-style OAuth error (RFC 6749 §5.2 plus the AADSTS fields msal-node logs). */
export function entraError(status: number, error: string, description: string): ErrorReply {
  return {
    status,
    body: {
      error,
      error_description: description,
      error_codes: [],
      timestamp: new Date().toISOString().replace('T', ' ').slice(0, 19) + 'Z',
      trace_id: randomUUID(),
      correlation_id: randomUUID(),
    },
  };
}
