// The Requests view: incoming contact requests, Accept / Ignore / Block from the context menu (and
// inline buttons). Its badge counts the pending requests, so the container's badge shows them too.
import * as vscode from 'vscode';
import { openTreeView, setViewBadge, treeItem } from '../sinks';
import { requestRow, requestsBadgeTooltip, type RequestView } from './contactModel';

export const REQUESTS_VIEW = 'p2pChat.requests';

export interface RequestSource {
  requests(): readonly RequestView[];
  onDidChange(listener: () => void): vscode.Disposable;
}

export class RequestsView implements vscode.TreeDataProvider<RequestView>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RequestView | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly view: vscode.TreeView<RequestView>;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly source: RequestSource) {
    this.view = openTreeView(REQUESTS_VIEW, this);
    this.disposables.push(this.view, this.changed, source.onDidChange(() => this.refresh()));
    this.refresh();
  }

  private refresh(): void {
    this.changed.fire(undefined);
    const n = this.source.requests().length;
    setViewBadge(this.view, n, requestsBadgeTooltip(n));
  }

  getChildren(element?: RequestView): RequestView[] {
    return element ? [] : [...this.source.requests()].sort((a, b) => b.receivedAt - a.receivedAt || a.id.localeCompare(b.id));
  }

  getTreeItem(r: RequestView): ReturnType<typeof treeItem> {
    const row = requestRow(r, Date.now());
    return treeItem(row.label, {
      id: `request:${r.id}`,
      description: row.description,
      tooltip: row.tooltip,
      contextValue: row.contextValue,
      iconPath: new vscode.ThemeIcon(row.icon, row.color ? new vscode.ThemeColor(row.color) : undefined),
      accessibilityLabel: row.accessibilityLabel,
    });
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
