// The persistent part of a room: what we still owe peers (outbox) and what we already delivered
// from them (per-sender watermarks). Saved synchronously on every change: an ack we send means
// "persisted", and a crash between send and save must not lose or duplicate a message.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ChatBody } from '../types';

export interface OutboxEntry {
  seq: number;
  sentAt: number;
  body: ChatBody;
  /** Peer ids (hex) that have not acknowledged it yet. */
  pending: string[];
}

export interface RoomState {
  epoch: number;
  nextSeq: number;
  outbox: OutboxEntry[];
  /** sender hex -> { epoch, seq } of the newest message delivered to the app. */
  delivered: Record<string, { epoch: number; seq: number }>;
}

export interface RoomStore {
  load(): RoomState;
  save(state: RoomState): void;
}

export function freshRoomState(): RoomState {
  return { epoch: randomBytes(4).readUInt32BE(0), nextSeq: 1, outbox: [], delivered: {} };
}

export class MemoryRoomStore implements RoomStore {
  private state: string | undefined;
  load(): RoomState {
    return this.state ? (JSON.parse(this.state) as RoomState) : freshRoomState();
  }
  save(state: RoomState): void {
    this.state = JSON.stringify(state);
  }
}

/** One JSON file, replaced atomically (write + rename) so a crash leaves the old or the new state. */
export class FileRoomStore implements RoomStore {
  constructor(private readonly file: string) {}

  load(): RoomState {
    try {
      const s = JSON.parse(readFileSync(this.file, 'utf8')) as RoomState;
      if (typeof s.epoch === 'number' && typeof s.nextSeq === 'number' && Array.isArray(s.outbox) && typeof s.delivered === 'object') return s;
    } catch {
      // Missing or unreadable: start fresh with a new epoch so peers do not mistake new messages for old ones.
    }
    return freshRoomState();
  }

  save(state: RoomState): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
