// Two connected Room hosts with a TransferHost each, the receiver accepting everything into `dir/in`:
// the setup of the file benchmarks (bench/children/filesLoopback.ts, bench/filesProfile.ts).
import { join } from 'node:path';
import { TransferHost } from '../../extension/core/transfer/transferHost';
import { connectedPair, until } from './hosts';

export async function transferPair(dir: string) {
  const pair = await connectedPair('memory');
  const ta = new TransferHost(pair.a.host, { stateDir: join(dir, 'state-a') });
  const tb = new TransferHost(pair.b.host, { stateDir: join(dir, 'state-b'), autoAcceptBytes: Number.MAX_SAFE_INTEGER, autoAcceptDir: join(dir, 'in') });
  ta.start();
  tb.start();
  const close = async () => {
    ta.stop();
    tb.stop();
    await pair.close();
  };
  try {
    await until(() => ta.peers().length === 1 && tb.peers().length === 1, 5000, 'transfer hosts see the link');
  } catch (err) {
    await close();
    throw err;
  }
  return { pair, ta, tb, close };
}
