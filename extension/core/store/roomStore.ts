// The persistent part of a room: what we still owe peers (outbox) and what we already delivered
// from them (per-sender watermarks). Every change is recorded synchronously before the room goes on:
// an ack we send means "persisted", and a crash between send and record must not lose a message.
// Changes are small operations appended to a journal (one line each) rather than the whole state
// rewritten per message, so the cost per message stays constant however long the outbox grows.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ChatBody } from '../types';
import type { RoomNameRecord } from '../room/roomName';

export interface OutboxEntry {
  seq: number;
  sentAt: number;
  body: ChatBody;
  /**
   * Peer ids (hex) that have not acknowledged it yet. '*': written while the rendezvous said the room was
   * empty, owed to whoever connects first. '?' beside ids: written before the rendezvous had named every
   * member already in the room; those are added as they are named, and it is never delivered meanwhile.
   */
  pending: string[];
  /** Set once a member refused it (who and why, in words): it ends as 'rejected', never 'delivered'. */
  rejected?: string;
}

export interface RoomState {
  epoch: number;
  nextSeq: number;
  outbox: OutboxEntry[];
  /** sender hex -> { epoch, seq } of the newest message delivered to the app. */
  delivered: Record<string, { epoch: number; seq: number }>;
  /** The room's name as this member last settled it (core/room/roomName.ts); absent: never named. */
  roomName?: RoomNameRecord;
}

export type RoomOp =
  | { op: 'add'; entry: OutboxEntry }
  | { op: 'pending'; seq: number; pending: string[] }
  | { op: 'remove'; seq: number }
  | { op: 'rejected'; seq: number; reason: string }
  | { op: 'delivered'; sender: string; epoch: number; seq: number }
  | { op: 'roomName'; record: RoomNameRecord };

export interface RoomStore {
  load(): RoomState;
  /** Record one change, already applied to `state` by the caller. Synchronous: durable on return. */
  record(op: RoomOp, state: RoomState): void;
  /** The room is closing: release any file handles. */
  close?(): void;
}

export function freshRoomState(): RoomState {
  return { epoch: randomBytes(4).readUInt32BE(0), nextSeq: 1, outbox: [], delivered: {} };
}

/** Replays one operation onto a state (used when loading a journal). Unknown or stale ops are ignored. */
export function applyOp(state: RoomState, op: RoomOp): void {
  switch (op.op) {
    case 'add':
      if (!state.outbox.some((e) => e.seq === op.entry.seq)) state.outbox.push(op.entry);
      state.nextSeq = Math.max(state.nextSeq, op.entry.seq + 1);
      break;
    case 'pending': {
      const e = state.outbox.find((x) => x.seq === op.seq);
      if (e) e.pending = op.pending;
      break;
    }
    case 'rejected': {
      const e = state.outbox.find((x) => x.seq === op.seq);
      if (e) e.rejected = op.reason;
      break;
    }
    case 'remove':
      state.outbox = state.outbox.filter((e) => e.seq !== op.seq);
      break;
    case 'delivered':
      state.delivered[op.sender] = { epoch: op.epoch, seq: op.seq };
      break;
    case 'roomName':
      if (validRoomName(op.record)) state.roomName = op.record;
      break;
  }
}

function validRoomName(r: unknown): r is RoomNameRecord {
  const o = r as RoomNameRecord;
  return !!o && typeof o.name === 'string' && typeof o.lamport === 'number' && typeof o.author === 'string' && typeof o.setAt === 'number';
}

function validState(s: unknown): s is RoomState {
  const o = s as RoomState;
  return !!o && typeof o.epoch === 'number' && typeof o.nextSeq === 'number' && Array.isArray(o.outbox) && typeof o.delivered === 'object' && o.delivered !== null;
}

/** For tests and throwaway rooms: keeps the live state, hands out copies. */
export class MemoryRoomStore implements RoomStore {
  private state: RoomState | undefined;
  load(): RoomState {
    return this.state ? structuredClone(this.state) : freshRoomState();
  }
  record(_op: RoomOp, state: RoomState): void {
    this.state = state;
  }
}

/**
 * A snapshot file (`<file>`) plus a journal (`<file>.log`, one JSON operation per line). Loading replays
 * the journal over the snapshot, ignoring a torn last line; past `compactEvery` operations the snapshot
 * is rewritten atomically (write + rename) and the journal truncated.
 */
export class FileRoomStore implements RoomStore {
  private ops = 0;
  private fd: number | undefined;
  private readonly log: string;

  constructor(
    private readonly file: string,
    private readonly opts: { compactEvery?: number; fsync?: boolean } = {},
  ) {
    this.log = `${file}.log`;
  }

  load(): RoomState {
    let state: RoomState | undefined;
    try {
      const s = JSON.parse(readFileSync(this.file, 'utf8')) as unknown;
      if (validState(s)) state = s;
      if (state?.roomName !== undefined && !validRoomName(state.roomName)) delete state.roomName;
    } catch {
      // Missing or unreadable: start fresh with a new epoch so peers do not mistake new messages for old ones.
    }
    state ??= freshRoomState();
    if (existsSync(this.log)) {
      for (const line of readFileSync(this.log, 'utf8').split('\n')) {
        if (!line) continue;
        try {
          applyOp(state, JSON.parse(line) as RoomOp);
        } catch {
          break; // a torn last line from a crash mid-append: everything before it counts
        }
      }
    }
    // Start every session from a compact snapshot and an empty journal.
    this.snapshot(state);
    return state;
  }

  record(op: RoomOp, state: RoomState): void {
    if (++this.ops >= (this.opts.compactEvery ?? 2000)) {
      this.snapshot(state);
      return;
    }
    if (this.fd === undefined) {
      mkdirSync(dirname(this.file), { recursive: true });
      this.fd = openSync(this.log, 'a', 0o600);
    }
    writeSync(this.fd, `${JSON.stringify(op)}\n`);
    if (this.opts.fsync) fsyncSync(this.fd);
  }

  private snapshot(state: RoomState): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
    renameSync(tmp, this.file);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    writeFileSync(this.log, '', { mode: 0o600 });
    this.ops = 0;
  }

  /** Release the journal's file descriptor (the room is closing). */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
