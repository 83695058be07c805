/**
 * A call's notifications, delivered one at a time in order, as the platform serialises per
 * resource (docs/teams-protocol.md#delivery), and twice with `duplicateNotifications`. Bodies are
 * thunks so a caller can build one when its turn comes.
 */
import type { Deliverer } from './deliveries.js';
import type { DeliveryKind, SimulatorLogger, TokenMode } from './types.js';

export interface QueueDeps {
  deliverer: Deliverer;
  callId: string;
  tenantId: string;
  callChainId: string;
  tokenMode: TokenMode;
  duplicate: boolean;
  /** Where notifications go now (the answer's callbackUri once there is one). */
  target(): string;
  /** True once the simulator closed: nothing more is sent. */
  closed(): boolean;
  logger?: SimulatorLogger;
}

export interface Notice {
  kind: DeliveryKind;
  /** The call state announced, for the delivery log. */
  state?: string;
  body: () => unknown;
  /** @default deps.target() */
  url?: string;
  /** Runs once the POST(s) returned, whatever the bot answered. */
  announced?: () => void;
}

export class NotificationQueue {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly deps: QueueDeps) {}

  /** Resolves once the notice was delivered (or failed); never rejects. */
  push(notice: Notice): Promise<void> {
    const d = this.deps;
    const run = async (): Promise<void> => {
      if (d.closed()) return;
      const base = {
        url: notice.url ?? d.target(),
        body: notice.body(),
        tenantId: d.tenantId,
        tokenMode: d.tokenMode,
        kind: notice.kind,
        callId: d.callId,
        callChainId: d.callChainId,
        state: notice.state,
      };
      const first = await d.deliverer.send(base);
      if (d.duplicate && !d.closed()) {
        await d.deliverer.send({
          ...base,
          duplicate: true,
          originalMessageId: first.messageId,
          sent: first.sent,
        });
      }
      notice.announced?.();
    };
    const next = this.tail.then(run).catch((err: unknown) => {
      d.logger?.warn({ callId: d.callId, err }, 'notification failed');
    });
    this.tail = next;
    return next;
  }
}
