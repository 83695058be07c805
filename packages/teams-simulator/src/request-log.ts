/**
 * Builds the entries of `Simulator.requests`: headers with the bearer token redacted and bodies
 * parsed (JSON or form) with client secrets redacted, so the log can be printed or kept as a
 * golden file without leaking credentials.
 */
import type { Classified } from './routes.js';
import type { RequestLogEntry } from './types.js';

const SECRET_FIELDS = ['client_secret', 'client_assertion'];

export function redactHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] =
      name === 'authorization'
        ? /^bearer\s/i.test(value)
          ? 'Bearer <redacted>'
          : '<redacted>'
        : value;
  });
  return out;
}

export function parseBody(text: string, contentType: string | null): unknown {
  if (text === '') return undefined;
  if (contentType?.includes('application/x-www-form-urlencoded')) {
    const form = Object.fromEntries(new URLSearchParams(text));
    for (const field of SECRET_FIELDS) if (field in form) form[field] = '<redacted>';
    return form;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function logEntry(
  at: number,
  req: Request,
  path: string,
  text: string,
  classified: Classified,
  status: number,
): RequestLogEntry {
  return {
    at,
    method: req.method,
    path,
    route: classified.route,
    status,
    headers: redactHeaders(req.headers),
    body: parseBody(text, req.headers.get('content-type')),
    ...(classified.callId !== undefined && { callId: classified.callId }),
  };
}
