// What the editor says about the room's mailbox: a message that cannot be left for absent members
// ("waiting: the recipient's mailbox is full", or expired before anyone fetched it) is reported once
// per reason while it lasts, so the sender knows it is still in the outbox and why. The reasons are
// our own fixed strings, never peer text; they still go through the one sink, like every notification.
import { inertText } from '../core/inertText';
import type { RoomEvents } from '../core/room/room';
import { notifyWarning } from './sinks';

type Notice = Parameters<NonNullable<RoomEvents['mailbox']>>[0];

export class MailboxNotices {
  private readonly shown = new Set<string>();

  constructor(private readonly log: { appendLine(line: string): void }) {}

  handle(n: Notice): void {
    if (n.kind === 'deposited') return;
    if (n.kind === 'ok') {
      this.shown.clear();
      return;
    }
    if (n.kind === 'receipted') return;
    const reason = n.reason;
    this.log.appendLine(`mailbox: ${n.kind === 'waiting' ? `waiting: ${reason} (${n.ids?.length ?? 0} message(s))` : reason}`);
    if (n.kind !== 'waiting' || this.shown.has(reason)) return;
    this.shown.add(reason);
    void notifyWarning(inertText(`P2P Chat: waiting: ${reason}. Your message stays in the outbox and is delivered directly when you are both online.`));
  }
}
