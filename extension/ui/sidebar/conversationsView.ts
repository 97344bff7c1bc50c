// The Conversations view of the P2P Chat sidebar: one row per conversation (conversationModel.ts makes
// the rows; sinks.ts makes the tree items), a click opens it, and the container's badge shows the total
// unread. The list itself lives in the app (ConversationList); this only draws it. A change redraws only
// the rows that changed (rowsToRedraw): a whole-list refresh on every message would redraw every row and
// reset the focused row under a keyboard user. Nothing here reveals or focuses the view.
import * as vscode from 'vscode';
import { inert } from '../../core/inertText';
import { openTreeView, setViewBadge, treeItem } from '../sinks';
import { badgeTooltip, conversationRow, orderConversations, rowsToRedraw, totalUnread, type ConversationMeta } from './conversationModel';

export const CONVERSATIONS_VIEW = 'p2pChat.conversations';
export const OPEN_CONVERSATION = 'p2pChat.openConversation';

export interface ConversationSource {
  conversations(): readonly ConversationMeta[];
  activeId(): string | undefined;
  /** `changed`: ids of rows that changed in place, or undefined when rows were added or removed. */
  onDidChange(listener: (changed: readonly string[] | undefined) => void): vscode.Disposable;
}

export class ConversationsView implements vscode.TreeDataProvider<ConversationMeta>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ConversationMeta | ConversationMeta[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  /** The ids of the rows VS Code last asked for, in order. */
  private drawn: string[] = [];
  private readonly view: vscode.TreeView<ConversationMeta>;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly source: ConversationSource) {
    this.view = openTreeView(CONVERSATIONS_VIEW, this);
    this.disposables.push(this.view, this.changed, source.onDidChange((ids) => this.refresh(ids)));
    this.updateBadge();
  }

  private refresh(ids: readonly string[] | undefined): void {
    const redraw = rowsToRedraw(this.drawn, orderConversations(this.source.conversations()), ids);
    if (redraw === 'all') this.changed.fire(undefined);
    else if (redraw.length > 0) this.changed.fire(redraw);
    this.updateBadge();
  }

  private updateBadge(): void {
    const n = totalUnread(this.source.conversations());
    setViewBadge(this.view, n, badgeTooltip(n));
  }

  getChildren(element?: ConversationMeta): ConversationMeta[] {
    if (element) return [];
    const rows = orderConversations(this.source.conversations());
    this.drawn = rows.map((c) => c.id);
    return rows;
  }

  getTreeItem(c: ConversationMeta): ReturnType<typeof treeItem> {
    const row = conversationRow(c, c.id === this.source.activeId(), Date.now());
    return treeItem(row.label, {
      id: c.id,
      description: row.description,
      tooltip: row.tooltip,
      contextValue: row.contextValue,
      iconPath: new vscode.ThemeIcon(row.icon, c.unread > 0 && !c.muted ? new vscode.ThemeColor('notificationsInfoIcon.foreground') : undefined),
      accessibilityLabel: row.accessibilityLabel,
      command: { command: OPEN_CONVERSATION, title: inert`Open Conversation`, arguments: [c.id] },
    });
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
