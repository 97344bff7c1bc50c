// Mocha glue for suites that need the NAT lab: call useLab() inside a
// describe() callback. Not root: under CI the suite fails, elsewhere it is
// skipped loudly (counted by test/run-all.sh); builds one lab for the suite and destroys it
// afterwards even when cases fail.

import { needRoot } from '../helpers/tools';
import { createLab, type Lab, type LabOptions } from './lab';

export interface UseLabOptions extends LabOptions {
  /** After each case: back to the initial NAT kinds/impairments, conntrack flushed, case processes killed. */
  resetBetween?: boolean;
}

export interface LabHandle {
  /** The suite's lab; throws when read before the suite's before() hook ran. */
  readonly lab: Lab;
}

export function useLab(opts: UseLabOptions = {}): LabHandle {
  let lab: Lab | undefined;

  before(async function () {
    // Not root: a failure under CI, a loud skip elsewhere (test/run-all.sh counts it).
    needRoot(this, this.currentTest?.parent?.title ?? 'NAT lab suite');
    this.timeout(120_000);
    lab = await createLab(opts);
  });

  if (opts.resetBetween) {
    afterEach(async function () {
      if (lab && !lab.isDestroyed) await lab.reset({ killProcesses: true });
    });
  }

  after(async function () {
    if (lab) await lab.destroy();
    lab = undefined;
  });

  return {
    get lab(): Lab {
      if (!lab) throw new Error('useLab(): the lab exists only between the suite hooks');
      return lab;
    },
  };
}
