/**
 * The notifications of one call, built as docs/teams-protocol.md#call-states and
 * docs/teams-protocol.md#roster show them and sent through the call's ordered queue. Etags
 * count in delivery order because a state body is built when its turn comes; a roster body is built
 * at once, so it shows the roster of its change.
 */
import type { Deliverer } from './deliveries.js';
import { NotificationQueue } from './notify-queue.js';
import { stateNotification, type Casing, type ChangeType } from './payloads.js';
import { rosterNotification } from './roster-payloads.js';
import type { RosterChange } from './roster.js';
import type { ResultInfo, SimCallState, SimulatorLogger, TokenMode } from './types.js';

export interface NoticeDeps {
  deliverer: Deliverer;
  callId: string;
  tenantId: string;
  callChainId: string;
  resource: Record<string, unknown>;
  casing: Casing;
  tokenMode: TokenMode;
  duplicate: boolean;
  target(): string;
  closed(): boolean;
  /** A notification announcing `state` was delivered. */
  announced(state: SimCallState): void;
  logger?: SimulatorLogger;
}

export class CallNotices {
  private readonly queue: NotificationQueue;
  private etag = 0;

  constructor(private readonly deps: NoticeDeps) {
    this.queue = new NotificationQueue(deps);
  }

  /** The invite, always to the global webhook it was placed with. */
  incoming(body: unknown, url: string): Promise<void> {
    const announced = () => this.deps.announced('invited');
    return this.queue.push({
      kind: 'incoming',
      state: 'incoming',
      body: () => body,
      url,
      announced,
    });
  }

  state(state: 'establishing' | 'established' | 'terminating'): Promise<void> {
    const announced = () => this.deps.announced(state);
    return this.queue.push({
      kind: 'state',
      state,
      body: () => this.stateBody('updated', state),
      announced,
    });
  }

  /** The final `deleted`; `onTurn` runs just before it is sent (the leg is gone by then). */
  deleted(result: ResultInfo, onTurn: () => void): Promise<void> {
    return this.queue.push({
      kind: 'deleted',
      state: 'terminated',
      body: () => {
        onTurn();
        return this.stateBody('deleted', 'terminated', result);
      },
      announced: () => this.deps.announced('terminated'),
    });
  }

  roster(change: RosterChange): Promise<void> {
    const body = rosterNotification({
      callId: this.deps.callId,
      change: change.change,
      casing: this.deps.casing,
      callbackUri: this.deps.target(),
      participants: change.participants,
    });
    return this.queue.push({ kind: 'roster', body: () => body });
  }

  private stateBody(change: ChangeType, state: string, result?: ResultInfo): unknown {
    this.etag += 1;
    return stateNotification(this.deps.resource, change, this.deps.casing, {
      state,
      etag: this.etag,
      callbackUri: this.deps.target(),
      result,
    });
  }
}
