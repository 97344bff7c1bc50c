// The inspector's CPU profiler around a benchmark's hot part only (not its setup), for the *Profile.ts
// scripts: `--profile FILE` on the command line turns it on; without it every call is a no-op.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

export class Sampler {
  private readonly session?: Session;
  private enabled = false;
  readonly file?: string;

  constructor(
    argv = process.argv,
    private readonly intervalUs = 200,
  ) {
    const i = argv.indexOf('--profile');
    if (i < 0) return;
    this.file = argv[i + 1];
    this.session = new Session();
    this.session.connect();
  }

  private post(method: string, params?: object): Promise<unknown> {
    return new Promise((res, rej) => this.session!.post(method, params ?? {}, (err, out) => (err ? rej(err) : res(out))));
  }

  async start(): Promise<void> {
    if (!this.session) return;
    if (!this.enabled) {
      await this.post('Profiler.enable');
      await this.post('Profiler.setSamplingInterval', { interval: this.intervalUs });
      this.enabled = true;
    }
    await this.post('Profiler.start');
  }

  /** Stops sampling and writes the profile to `file` (default: the --profile argument). */
  async stop(file = this.file): Promise<void> {
    if (!this.session) return;
    const { profile } = (await this.post('Profiler.stop')) as { profile: unknown };
    if (file) writeFileSync(file, JSON.stringify(profile));
  }

  close(): void {
    this.session?.disconnect();
  }
}
