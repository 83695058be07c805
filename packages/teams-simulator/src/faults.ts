/**
 * Fault injection for the fake Graph and Entra (docs/teams-protocol.md#errors-and-retries): the
 * next `times` requests matching a route (and optionally a call) fail with a status, a
 * `Retry-After` and a Graph-shaped error body, optionally after a delay. Faults are consumed in the
 * order added.
 */
import type { GraphFault, GraphRoute } from './types.js';

export interface ActiveFault {
  status: number;
  code: string;
  retryAfter?: string;
  delayMs: number;
}

const CODE_BY_STATUS: Record<number, string> = {
  400: 'BadRequest',
  401: 'InvalidAuthenticationToken',
  403: 'Forbidden',
  404: 'NotFound',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

export function codeForStatus(status: number): string {
  return CODE_BY_STATUS[status] ?? (status >= 500 ? 'InternalServerError' : 'BadRequest');
}

interface Entry {
  fault: GraphFault;
  left: number;
}

export class FaultTable {
  private entries: Entry[] = [];

  add(fault: GraphFault): void {
    const times = fault.times ?? 1;
    if (!(times > 0)) throw new Error(`fault.times must be > 0 (got ${String(fault.times)})`);
    if (fault.status !== undefined && (fault.status < 400 || fault.status > 599)) {
      throw new Error(`fault.status must be an error status 400–599 (got ${fault.status})`);
    }
    this.entries.push({ fault, left: times });
  }

  clear(): void {
    this.entries = [];
  }

  /** Consume one matching fault, if any. */
  take(route: GraphRoute, callId: string | undefined): ActiveFault | undefined {
    const entry = this.entries.find(
      (e) => e.fault.route === route && (e.fault.callId === undefined || e.fault.callId === callId),
    );
    if (!entry) return undefined;
    entry.left -= 1;
    if (entry.left <= 0) this.entries = this.entries.filter((e) => e !== entry);
    const status = entry.fault.status ?? 503;
    return {
      status,
      code: entry.fault.code ?? codeForStatus(status),
      retryAfter: entry.fault.retryAfter,
      delayMs: entry.fault.delayMs ?? 0,
    };
  }
}
