/**
 * The policy engine of docs/teams-protocol.md#policy-flags: what the recording application's flags
 * mean for the recorded user when the bot joins, never joins, or drops out. Pure decision plus a
 * small tracker with waiters, so tests can await "the user was ejected" like a call state.
 */
import type { Clock } from './clock.js';
import { StateWaiters } from './state-waiters.js';
import type { SimPolicy, SimUserEvent, SimUserOutcome, SimUserOutcomeReason } from './types.js';

type Decided = Exclude<SimUserOutcome, 'pending'>;

/**
 * @param joined whether the bot's leg had reached 'established' when it ended: before that the
 *   "Required before …" flags apply, after it the "Required during …" flags.
 */
export function decideOutcome(
  kind: 'p2p' | 'meeting',
  policy: SimPolicy,
  reason: SimUserOutcomeReason,
  joined: boolean,
): Decided {
  if (reason === 'established') return 'recorded';
  if (kind === 'p2p') {
    const required = joined ? policy.requiredDuringCall : policy.requiredBeforeCallEstablishment;
    return required === false ? 'proceedsUnrecorded' : 'callCancelled';
  }
  if (joined) return policy.requiredDuringMeeting === false ? 'proceedsUnrecorded' : 'userEjected';
  return policy.requiredBeforeMeetingJoin === false ? 'proceedsUnrecorded' : 'userBlocked';
}

export class UserOutcomes {
  outcome: SimUserOutcome = 'pending';
  readonly events: SimUserEvent[] = [];
  private readonly waiters: StateWaiters<Decided>;

  constructor(
    callId: string,
    private readonly clock: Clock,
  ) {
    this.waiters = new StateWaiters<Decided>(callId, 'outcome ');
  }

  record(outcome: Decided, reason: SimUserOutcomeReason): void {
    this.outcome = outcome;
    this.events.push({ at: this.clock.now(), outcome, reason });
    this.waiters.mark(outcome);
  }

  reached(outcome: Decided): boolean {
    return this.waiters.has(outcome);
  }

  wait(outcome: Decided, timeoutMs: number, describe: () => string): Promise<void> {
    return this.waiters.wait(outcome, timeoutMs, describe);
  }

  failAll(why: string): void {
    this.waiters.failAll(why);
  }
}
