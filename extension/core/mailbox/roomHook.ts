// The seam between a Room and its mailbox: adapts what the room exposes (its persisted outbox and
// watermarks, its links, its rendezvous cookie) to the RoomMailbox's host interface, and turns the
// mailbox's notices into room events with message ids. Kept apart so room.ts only gains a hook.
import type { KeyPair } from '../noise';
import type { Endpoint } from '../wire/endpoint';
import type { OutboxEntry, RoomState } from '../store/roomStore';
import type { RoomEvents } from '../room/room';
import { MailboxScheme, RoomMailbox, RoomMailboxOptions } from './roomMailbox';

export interface RoomAccess {
  identity: KeyPair;
  scheme: MailboxScheme;
  server: Endpoint;
  wall(): number;
  cookie(): Buffer | undefined;
  send(data: Buffer): void;
  state(): RoomState;
  accept(senderHex: string, name: string, chat: Buffer): boolean;
  received(memberHex: string, epoch: number, seq: number): void;
  events(): RoomEvents;
  log(level: 'debug' | 'info' | 'warn', message: string): void;
}

export interface MailboxHook {
  readonly mailbox: RoomMailbox;
  receive(data: Buffer, now: number): void;
  sent(entry: OutboxEntry): void;
  tick(now: number): void;
  nextWakeup(): number;
}

export function attachRoomMailbox(room: { readonly selfId: string; readonly name: string }, a: RoomAccess, opts: Partial<RoomMailboxOptions>): MailboxHook {
  const idOf = (seq: number) => `${room.selfId.slice(0, 16)}-${a.state().epoch.toString(16)}-${seq}`;
  const mailbox = new RoomMailbox(
    {
      selfId: a.identity.publicKey,
      scheme: a.scheme,
      server: a.server,
      name: () => room.name,
      wall: a.wall,
      cookie: a.cookie,
      send: (_to, data) => a.send(data),
      epoch: () => a.state().epoch,
      outbox: () => a.state().outbox,
      deliver: a.accept,
      watermark: (hex) => a.state().delivered[hex],
      receipt: a.received,
      notice: (n) => {
        const ev = a.events();
        if (n.kind === 'deposited') for (const s of n.seqs) ev.delivery?.(idOf(s), 'sent');
        ev.mailbox?.({ ...n, ...('seqs' in n ? { ids: n.seqs.map(idOf) } : {}) });
        if (n.kind === 'waiting') a.log('warn', `waiting: ${n.reason} (${n.seqs.length} message(s))`);
        if (n.kind === 'trouble') a.log('warn', `mailbox: ${n.reason}`);
      },
      log: a.log,
    },
    opts,
  );
  let lastTick = 0;
  return {
    mailbox,
    receive: (data, now) => mailbox.handle(data, now),
    sent: (entry) => mailbox.sent(entry),
    tick: (now) => {
      lastTick = now;
      mailbox.tick(now);
    },
    nextWakeup: () => Math.max(lastTick, mailbox.nextWakeup()),
  };
}
