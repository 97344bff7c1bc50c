// The conversations of this user, kept in globalState (history files are global too, so every window
// lists the same rooms; which ones are joined is per window). On first use it takes over what the
// one-room version left: its last room and every room with a history file (conversationModel.ts).
import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { loadConversations, saveConversations, type ConversationMeta } from './conversationModel';

const LIST_KEY = 'p2pChat.conversations'; // globalState
const LEGACY_LAST_ROOM_KEY = 'p2pChat.lastRoom'; // workspaceState of the one-room version

/**
 * What changed: the ids of conversations whose row changed in place, or undefined when one was added or
 * removed (the list itself changed). The Conversations view redraws only those rows (or the list).
 */
export type ConversationChange = readonly string[] | undefined;

export class ConversationList implements vscode.Disposable {
  private readonly items = new Map<string, ConversationMeta>();
  private readonly emitter = new vscode.EventEmitter<ConversationChange>();
  private saveTimer: NodeJS.Timeout | undefined;
  /** The conversation on screen (its row says "active"). */
  private active: string | undefined;

  constructor(
    private readonly globalState: vscode.Memento,
    workspaceState: vscode.Memento,
    historyDir: string,
  ) {
    const { ids, times } = historyFiles(historyDir);
    const list = loadConversations(globalState.get(LIST_KEY), {
      lastRoom: workspaceState.get(LEGACY_LAST_ROOM_KEY),
      historyIds: ids,
      historyTimes: times,
    });
    for (const c of list) this.items.set(c.id, c);
    if (globalState.get(LIST_KEY) === undefined) this.save();
  }

  onDidChange(listener: (changed: ConversationChange) => void): vscode.Disposable {
    return this.emitter.event(listener);
  }

  get activeId(): string | undefined {
    return this.active;
  }

  /** Another conversation is on screen: the two rows whose "active" mark changes. */
  setActive(id: string | undefined): void {
    if (id === this.active) return;
    const before = this.active;
    this.active = id;
    this.emitter.fire([before, id].filter((x): x is string => x !== undefined && this.items.has(x)));
  }

  all(): ConversationMeta[] {
    return [...this.items.values()];
  }

  get(id: string): ConversationMeta | undefined {
    return this.items.get(id);
  }

  /** A room was entered (or rejoined): listed, marked joined, its label brought up to date. */
  joined(id: string, label: string, now: number): void {
    const c = this.items.get(id);
    if (c) {
      c.joined = true;
      c.name = label;
      if (c.lastAt === 0) c.lastAt = now;
      this.changed([id]);
    } else {
      this.items.set(id, { id, name: label, joined: true, unread: 0, mentions: 0, lastAt: now, muted: false });
      this.changed(undefined);
    }
  }

  /** The room's name changed (renamed by a member, or by us). */
  renamed(id: string, name: string): void {
    const c = this.items.get(id);
    if (!c || c.name === name) return;
    c.name = name;
    // The order ties on the name: a rename may move the row.
    this.changed([id]);
  }

  left(id: string): void {
    const c = this.items.get(id);
    if (!c) return;
    c.joined = false;
    this.changed([id]);
  }

  message(id: string, m: { preview: string; from?: string; at: number; unread: boolean; mention: boolean }): void {
    const c = this.items.get(id);
    if (!c) return;
    c.preview = m.preview;
    if (m.from !== undefined) c.previewFrom = m.from;
    else delete c.previewFrom;
    c.lastAt = Math.max(c.lastAt, m.at);
    if (m.unread) c.unread++;
    if (m.unread && m.mention) c.mentions++;
    this.changed([id]);
  }

  /** The active conversation's count is the chat view-model's (it knows whether the panel is visible). */
  setUnread(id: string, unread: number): void {
    const c = this.items.get(id);
    if (!c || c.unread === unread) return;
    c.unread = unread;
    if (unread === 0) c.mentions = 0;
    this.changed([id]);
  }

  setMuted(id: string, muted: boolean): void {
    const c = this.items.get(id);
    if (!c || c.muted === muted) return;
    c.muted = muted;
    this.changed([id]);
  }

  remove(id: string): void {
    if (this.items.delete(id)) this.changed(undefined);
  }

  private changed(ids: ConversationChange): void {
    this.emitter.fire(ids);
    // Counts change with every message: write at most once a second.
    this.saveTimer ??= setTimeout(() => {
      this.saveTimer = undefined;
      this.save();
    }, 1000);
  }

  private save(): void {
    void this.globalState.update(LIST_KEY, saveConversations(this.all())).then(undefined, () => undefined);
  }

  dispose(): void {
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = undefined;
      this.save();
    }
    this.emitter.dispose();
  }
}

function historyFiles(dir: string): { ids: string[]; times: Map<string, number> } {
  const ids: string[] = [];
  const times = new Map<string, number>();
  try {
    for (const f of readdirSync(dir)) {
      const m = /^([0-9a-f]{64})\.jsonl$/.exec(f);
      if (!m) continue;
      ids.push(m[1]);
      try {
        times.set(m[1], statSync(path.join(dir, f)).mtimeMs);
      } catch {
        // listed without a time
      }
    }
  } catch {
    // no history yet
  }
  return { ids, times };
}
