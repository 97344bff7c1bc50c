// What a window remembers about its room across reloads: the room it is in (to rejoin it), the last
// room whose history to show, how to reach a room (in SecretStorage: an invite is a room secret) and
// each room's unsent draft. One place for the storage keys, so the app reads as what it does with them.
import * as vscode from 'vscode';
import { loadRoom, saveRoom, type RoomTarget } from './roomTarget';

const ACTIVE_ROOM_KEY = 'p2pChat.activeRoom'; // workspaceState: roomIdHex of the conversation on screen
const OPEN_ROOMS_KEY = 'p2pChat.openRooms'; // workspaceState: roomIdHex[] of every room this window is in
const LAST_ROOM_KEY = 'p2pChat.lastRoom'; // workspaceState: { roomIdHex, label } whose history to show
const roomSecretKey = (roomIdHex: string) => `p2pChat.room.${roomIdHex}`; // SecretStorage: SavedRoom JSON
const draftKey = (roomIdHex: string) => `p2pChat.draft.${roomIdHex}`; // workspaceState

export class RoomMemory {
  constructor(
    private readonly workspaceState: vscode.Memento,
    private readonly secrets: vscode.SecretStorage,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** The room this window was in when it last closed or reloaded. */
  activeRoomId(): string | undefined {
    return this.workspaceState.get<string>(ACTIVE_ROOM_KEY);
  }

  clearActive(): Thenable<void> {
    return this.workspaceState.update(ACTIVE_ROOM_KEY, undefined);
  }

  setActive(roomIdHex: string): Thenable<void> {
    return this.workspaceState.update(ACTIVE_ROOM_KEY, roomIdHex);
  }

  /**
   * Every room this window is in (to rejoin them all after a reload). The one-room version stored
   * only the active room: that one is the list then.
   */
  openRoomIds(): string[] {
    const stored = this.workspaceState.get<unknown>(OPEN_ROOMS_KEY);
    const ids = Array.isArray(stored) ? stored : [this.activeRoomId()];
    return [...new Set(ids.filter((x): x is string => typeof x === 'string' && /^[0-9a-f]{64}$/.test(x)))];
  }

  private setOpenRooms(ids: string[]): Thenable<void> {
    return this.workspaceState.update(OPEN_ROOMS_KEY, ids);
  }

  /** How to reach a room this window was in; undefined if it was never saved or cannot be read. */
  async savedTarget(roomIdHex: string): Promise<RoomTarget | undefined> {
    try {
      const saved = await this.secrets.get(roomSecretKey(roomIdHex));
      return saved ? loadRoom(JSON.parse(saved)) : undefined;
    } catch (err) {
      this.log.warn(`could not read the saved room: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** The last room's id, if what was stored looks like one. */
  lastRoomId(): string | undefined {
    const last = this.workspaceState.get<{ roomIdHex?: unknown }>(LAST_ROOM_KEY);
    return last && typeof last.roomIdHex === 'string' && /^[0-9a-f]{64}$/.test(last.roomIdHex) ? last.roomIdHex : undefined;
  }

  lastRoomLabel(): string | undefined {
    return this.workspaceState.get<{ label?: string }>(LAST_ROOM_KEY)?.label;
  }

  /** A room was entered: it is the one to rejoin and whose history to show. */
  async entered(roomIdHex: string, label: string, target: RoomTarget): Promise<void> {
    // A DM is brought back by the contact list (the keys come from the identity), never from here.
    if (target.kind === 'dm') return;
    await this.workspaceState.update(ACTIVE_ROOM_KEY, roomIdHex);
    await this.setOpenRooms([...this.openRoomIds().filter((id) => id !== roomIdHex), roomIdHex]);
    await this.workspaceState.update(LAST_ROOM_KEY, { roomIdHex, label });
    try {
      await this.secrets.store(roomSecretKey(roomIdHex), JSON.stringify(saveRoom(target)));
    } catch (err) {
      this.log.warn(`the room will not be rejoined after a reload: ${(err as Error).message}`);
    }
  }

  /** The room was renamed: the last room's label follows (it names the history shown after a restart). */
  async renamed(roomIdHex: string, label: string): Promise<void> {
    if (this.lastRoomId() === roomIdHex) await this.workspaceState.update(LAST_ROOM_KEY, { roomIdHex, label });
  }

  /** The user left the room: do not rejoin it, and forget how to reach it. */
  async left(roomIdHex: string): Promise<void> {
    await this.setOpenRooms(this.openRoomIds().filter((id) => id !== roomIdHex));
    if (this.activeRoomId() === roomIdHex) await this.workspaceState.update(ACTIVE_ROOM_KEY, undefined);
    try {
      await this.secrets.delete(roomSecretKey(roomIdHex));
    } catch {
      // Nothing to forget, or no secret storage.
    }
  }

  draft(roomIdHex: string): string | undefined {
    return this.workspaceState.get<string>(draftKey(roomIdHex));
  }

  saveDraft(roomIdHex: string, text: string | undefined): Thenable<void> {
    return this.workspaceState.update(draftKey(roomIdHex), text);
  }
}
