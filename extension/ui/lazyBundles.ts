// Code that dist/extension.js leaves out and loads on first use, each a bundle of its own beside it
// (scripts/build.mjs): the embedded rendezvous server (only when this editor hosts a room) and the machinery
// that runs a room (RoomSession with the whole core, file transfer: only once a room is started, joined or
// rejoined). Activation and the sidebar need neither. scripts/build.mjs defines P2P_SPLIT_HOST and
// P2P_SPLIT_CORE for the bundles that leave them out; from source (tests, the terminal peer) they are
// ordinary modules. A computed path, so the bundler does not pull the file back in.
import * as path from 'node:path';

function load<T>(bundle: string, source: string, split: boolean): T {
  const req = require; // not `require(…)` itself: the bundler would inline a literal path, even in a dead branch
  return req(split ? path.join(__dirname, bundle) : source) as T;
}

/** dist/rendezvousHost.js: the rendezvous server, for hosting a room in this editor. */
export function rendezvousHostModule(): typeof import('./rendezvousHost') {
  return load('rendezvousHost.js', './rendezvousHost', process.env.P2P_SPLIT_HOST === '1');
}

/** dist/sessionCore.js: RoomSession and the core under it, and the file-transfer host. */
export function sessionCoreModule(): typeof import('./sessionCore') {
  return load('sessionCore.js', './sessionCore', process.env.P2P_SPLIT_CORE === '1');
}
