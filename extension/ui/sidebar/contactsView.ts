// The Contacts view of the P2P Chat sidebar: one row per contact with a presence dot (codicon and theme
// colour), the DM's unread count and the verified mark (contactModel.ts makes the rows; sinks.ts the
// tree items). Enter or a click opens the DM; the context menu has Message, Verify, Rename, Remove, Block.
import * as vscode from 'vscode';
import { inert } from '../../core/inertText';
import { openTreeView, treeItem } from '../sinks';
import { contactRow, ContactRows, type ContactView } from './contactModel';

export const CONTACTS_VIEW = 'p2pChat.contacts';
export const MESSAGE_CONTACT = 'p2pChat.messageContact';

export interface ContactSource {
  contacts(): readonly ContactView[];
  onDidChange(listener: () => void): vscode.Disposable;
}

export class ContactsView implements vscode.TreeDataProvider<ContactView>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ContactView | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  readonly view: vscode.TreeView<ContactView>;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly rows = new ContactRows();

  constructor(private readonly source: ContactSource) {
    this.view = openTreeView(CONTACTS_VIEW, this);
    this.disposables.push(this.view, this.changed, source.onDidChange(() => this.refresh()));
  }

  /** Only the rows that changed (ContactRows): a whole-list refresh would move the keyboard focus. */
  private refresh(): void {
    const redraw = this.rows.update(this.source.contacts());
    if (redraw === 'all') this.changed.fire(undefined);
    else for (const c of redraw) this.changed.fire(c);
  }

  getChildren(element?: ContactView): ContactView[] {
    return element ? [] : this.rows.draw(this.source.contacts());
  }

  getTreeItem(c: ContactView): ReturnType<typeof treeItem> {
    const row = contactRow(c);
    return treeItem(row.label, {
      id: `contact:${c.key}`,
      description: row.description,
      tooltip: row.tooltip,
      contextValue: row.contextValue,
      iconPath: new vscode.ThemeIcon(row.icon, row.color ? new vscode.ThemeColor(row.color) : undefined),
      accessibilityLabel: row.accessibilityLabel,
      ...(c.state === 'accepted' ? { command: { command: MESSAGE_CONTACT, title: inert`Message`, arguments: [c.key] } } : {}),
    });
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
