// What the terminal peer prints about the mailbox, and which of its messages are safe there: a message
// deposited in the room's mailbox reaches the others even if this peer quits now, so lingering at the
// end of input may stop once every pending message is delivered or deposited.
import type { RoomEvents } from '../core/room/room';

type Printer = (event: string, fields: Record<string, unknown>, human: string) => void;

export interface MailboxOutput {
  events: NonNullable<RoomEvents['mailbox']>;
  /** Message ids deposited in the mailbox during this run. */
  readonly deposited: Set<string>;
}

export function mailboxOutput(out: Printer): MailboxOutput {
  const deposited = new Set<string>();
  return {
    deposited,
    events: (n) => {
      if (n.kind === 'deposited') {
        for (const id of n.ids ?? []) deposited.add(id);
        out('mailbox', { kind: n.kind, ids: n.ids }, '');
      } else if (n.kind === 'waiting') {
        out('mailbox', { kind: n.kind, ids: n.ids, reason: n.reason }, `(waiting: ${n.reason}; ${n.ids?.length ?? 0} message(s) kept in the outbox)`);
      } else if (n.kind === 'receipted') {
        out('mailbox', { kind: n.kind, senders: n.senders }, '');
      } else if (n.kind === 'trouble') {
        out('mailbox', { kind: n.kind, reason: n.reason }, `(mailbox: ${n.reason})`);
      }
    },
  };
}
