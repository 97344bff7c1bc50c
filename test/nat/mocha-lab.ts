// Mocha glue for suites that need the NAT lab: call useLab() inside a
// describe() callback. It skips the suite, loudly, only when not root (CI is
// root, so there it always runs), builds one lab for the suite and destroys it
// afterwards even when cases fail.

import { createLab, isRoot, type Lab, type LabOptions } from './lab';

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
    if (!isRoot()) {
      console.warn(`    ${this.currentTest?.parent?.title ?? 'NAT lab suite'}: SKIPPED — needs root (network namespaces, iptables). CI runs as root.`);
      this.skip();
    }
    this.timeout(300_000); // a first run may apt-get install the lab tools
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
