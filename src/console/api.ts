/**
 * The console's client of `/admin/api`: the token goes in the Authorization header of every
 * request (never in a URL); a 401 signs the operator out.
 */
import type { CallDetail, CallPage, ConsoleConfig, MachineInfo } from './api-types.js';

export const API_BASE = '/admin/api';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface CallFilter {
  state?: string;
  failed?: boolean;
  limit?: number;
}

export interface Api {
  config(): Promise<ConsoleConfig>;
  machine(): Promise<MachineInfo>;
  calls(filter: CallFilter): Promise<CallPage>;
  call(callId: string): Promise<CallDetail>;
}

export function createApi(token: string, onUnauthorized: () => void): Api {
  const get = async <T>(path: string): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(`${API_BASE}${path}`, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        cache: 'no-store',
      });
    } catch {
      throw new ApiError(0, 'The orchestrator cannot be reached.');
    }
    if (res.status === 401) {
      onUnauthorized();
      throw new ApiError(401, 'The admin token was refused.');
    }
    if (!res.ok) throw new ApiError(res.status, await errorText(res));
    return (await res.json()) as T;
  };
  return {
    config: () => get<ConsoleConfig>('/config'),
    machine: () => get<MachineInfo>('/machine'),
    calls: (filter) => {
      const query = new URLSearchParams();
      if (filter.state) query.set('state', filter.state);
      if (filter.failed) query.set('failed', 'true');
      query.set('limit', String(filter.limit ?? 100));
      return get<CallPage>(`/calls?${query.toString()}`);
    },
    call: (callId) => get<CallDetail>(`/calls/${encodeURIComponent(callId)}`),
  };
}

async function errorText(res: Response): Promise<string> {
  const fallback = `The orchestrator answered ${res.status}.`;
  try {
    const body = (await res.json()) as { message?: unknown; error?: unknown };
    const message =
      typeof body.message === 'string'
        ? body.message
        : typeof body.error === 'object' && body.error !== null && 'message' in body.error
          ? String(body.error.message)
          : undefined;
    return message ? `${fallback} ${message.slice(0, 300)}` : fallback;
  } catch {
    return fallback;
  }
}
