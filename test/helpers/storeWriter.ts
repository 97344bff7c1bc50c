// Child process for the crash test: opens a FileStore in argv[2] and writes as fast as it can, 16
// operations in flight, printing "ack <key>" for each one only after the store acknowledged it. The test
// kills it with SIGKILL at a random moment and checks that every printed key is in the store.
import { FileStore } from '../../rendezvous/store/fileStore';

async function main(): Promise<void> {
  const store = await FileStore.open(process.argv[2], { compactAfterBytes: 256 * 1024 });
  let n = 0;
  const worker = async (w: number) => {
    for (;;) {
      const i = n++;
      const key = `k/${w}/${i}`;
      // Values of varying size, so frames straddle write boundaries.
      const value = Buffer.alloc(50 + ((i * 7919) % 3000), i & 0xff);
      if (i % 3 === 0) await store.append(`q/${w}`, value, 1e15, { maxBytes: 1e12, maxItems: 1e9 });
      await store.create(key, value);
      // Asynchronous: a synchronous write to a full pipe fails with EAGAIN. A line still buffered when the
      // process dies is simply not checked; every line the test does see was written after the ack.
      process.stdout.write(`ack ${key} ${value.length}\n`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)));
}

void main();
