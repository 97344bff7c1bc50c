// The real server-side mailbox (rendezvous/mailbox.ts, on a real Store) attached to the simulated
// network's rendezvous: requests are checked for the fake's cookie, then handled by MailboxService
// exactly as the real server does. The service is asynchronous (the store), so `run` stops the
// simulated clock while a request is being stored and lets it finish before time moves on.
import { decodeMailbox, signedPart } from '../../extension/core/wire/mailbox';
import { encodeRendezvous } from '../../extension/core/wire/rendezvous';
import { endpointKey } from '../../extension/core/wire/endpoint';
import { MailboxLimits, MailboxService } from '../../rendezvous/mailbox';
import type { Store } from '../../rendezvous/store/store';
import { FakeRendezvous, SimNet } from './simNet';

export const SIM_WALL_BASE = 1_700_000_000_000;

export class SimMailbox {
  service: MailboxService;
  private busy = 0;
  private chain: Promise<unknown> = Promise.resolve();
  /** Set to make the server drop everything (a server that is down). */
  down = false;

  constructor(
    private readonly net: SimNet,
    store: Store,
    limits: Partial<MailboxLimits> = {},
  ) {
    this.service = new MailboxService(store, limits);
    net.rendezvous.mailbox = (data, from, reply) => {
      if (this.down) return;
      const d = decodeMailbox(data);
      if (!d.ok || (d.value.type !== 'deposit' && d.value.type !== 'fetch' && d.value.type !== 'delete')) return;
      const m = d.value;
      if (!m.cookie.equals(FakeRendezvous.COOKIE)) {
        reply(encodeRendezvous({ type: 'cookie', cookie: FakeRendezvous.COOKIE }));
        return;
      }
      this.busy++;
      const service = this.service;
      // One at a time, like a single-threaded server would see them complete.
      this.chain = this.chain.then(async () => {
        try {
          const r = await service.handle(m, signedPart(data), endpointKey(from), this.net.now, SIM_WALL_BASE + this.net.now);
          if (r && !this.down) reply(r);
        } finally {
          this.busy--;
        }
      });
    };
  }

  /** Replace the server's mailbox (a restart on the same data). */
  restart(store: Store, limits: Partial<MailboxLimits> = {}): void {
    this.service = new MailboxService(store, limits);
  }

  /** Like SimNet.run, but lets the store finish between simulated instants. */
  async run(until: number, done?: () => boolean): Promise<boolean> {
    for (;;) {
      const finished = this.net.run(until, () => this.busy > 0 || (done?.() ?? false));
      if (this.busy > 0) {
        await this.chain;
        continue;
      }
      if (finished || this.net.now >= until) return done?.() ?? finished;
    }
  }
}
