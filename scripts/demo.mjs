#!/usr/bin/env node
// Entry point of `npm run demo`. The demo is TypeScript (scripts/demo.ts) so that it imports the
// same launching code as the e2e rig (test/e2e/rig); tsx compiles it on the fly.
import { createRequire } from 'node:module';
import { register } from 'tsx/cjs/api';

register();
createRequire(import.meta.url)('./demo.ts');
