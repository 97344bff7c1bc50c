// The only module that hands text to VS Code's text-showing APIs: notifications and modal dialogs,
// quick picks, input boxes, the status bar, panel titles, markdown and the output channel. Each takes
// InertText (core/inertText.ts), never a string, so peer text cannot reach one of them without being
// made inert first: VS Code turns `[label](command:…)` in a notification into a link that runs the
// command, and `$(icon)` into an icon. test/unit/ui-sinks.test.ts fails when any other file in
// extension/ui calls one of these APIs directly. New UI (tree views, hovers…) adds its sink here.
import * as vscode from 'vscode';
import { inertMarkdown, inertText, type InertText } from '../core/inertText';

type Severity = 'info' | 'warning' | 'error';

function showMessage(severity: Severity, message: InertText, options: vscode.MessageOptions, buttons: readonly InertText[]): Thenable<InertText | undefined> {
  const labels = buttons.map((b) => b.value);
  const shown =
    severity === 'error'
      ? vscode.window.showErrorMessage(message.value, options, ...labels)
      : severity === 'warning'
        ? vscode.window.showWarningMessage(message.value, options, ...labels)
        : vscode.window.showInformationMessage(message.value, options, ...labels);
  // The very object the caller passed, so `choice === OPEN_CHAT` compares identities.
  return shown.then((c) => buttons.find((b) => b.value === c));
}

/** A notification (toast). Resolves to the button clicked, as passed. */
export function notifyInfo(message: InertText, ...buttons: InertText[]): Thenable<InertText | undefined> {
  return showMessage('info', message, {}, buttons);
}

export function notifyWarning(message: InertText, ...buttons: InertText[]): Thenable<InertText | undefined> {
  return showMessage('warning', message, {}, buttons);
}

export function notifyError(message: InertText, ...buttons: InertText[]): Thenable<InertText | undefined> {
  return showMessage('error', message, {}, buttons);
}

/** A modal dialog with a multi-line detail (make it with inertText(…, { multiLine: true }) or `inert`). */
export function askModal(severity: 'info' | 'warning', message: InertText, detail: InertText, ...buttons: InertText[]): Thenable<InertText | undefined> {
  return showMessage(severity, message, { modal: true, detail: detail.value }, buttons);
}

/** A transient status bar message. */
export function flashStatus(text: InertText, ms: number): vscode.Disposable {
  return vscode.window.setStatusBarMessage(text.value, ms);
}

export interface PickItem {
  label: InertText;
  description?: InertText;
  detail?: InertText;
}

/**
 * A quick pick; resolves to the item picked, as passed (with whatever else it carries).
 *
 * It stays open when the focus moves away (Escape or a pick closes it). Our pickers open from commands,
 * an extension-host round trip after the palette closed, and the palette gives the focus back to what had
 * it: when that is the chat panel, VS Code re-focuses the webview's inner frame 50 ms later and again when
 * its focus poll (every 250 ms) reports in. Under load that lands after our picker appeared, and a picker
 * that closes on focus loss vanished under the user (the real-editor test caught it: e2e focus log).
 */
export async function pick<T extends PickItem>(items: readonly T[], opts: { title: InertText; placeHolder: InertText }): Promise<T | undefined> {
  const rows = items.map((item) => ({
    label: item.label.value,
    ...(item.description ? { description: item.description.value } : {}),
    ...(item.detail ? { detail: item.detail.value } : {}),
    item,
  }));
  const chosen = await whilePickerOpen(vscode.window.showQuickPick(rows, { title: opts.title.value, placeHolder: opts.placeHolder.value, ignoreFocusOut: true }));
  return chosen?.item;
}

/** Pickers and input boxes of ours on screen now (there is one quick input at a time; nested calls count). */
let pickersOpen = 0;

function whilePickerOpen<T>(shown: Thenable<T>): Thenable<T> {
  pickersOpen++;
  return shown.then(
    (v) => {
      pickersOpen--;
      return v;
    },
    (err: unknown) => {
      pickersOpen--;
      throw err;
    },
  );
}

/**
 * The chat webview took the keyboard focus (it says so, media/main.ts): if a picker of ours is open, the
 * focus goes back to it. It stays open on focus loss (see pick()), and keystrokes meant for it would
 * otherwise land in the chat's composer.
 */
export function refocusPicker(): void {
  if (pickersOpen > 0) void vscode.commands.executeCommand('workbench.action.focusQuickOpen').then(undefined, () => undefined);
}

/**
 * An input box. `value` is what the user edits (never rendered as markup); the validation message is shown as text.
 * `ignoreFocusOut` defaults to true for the reason pick() gives.
 */
export function askInput(opts: {
  title: InertText;
  prompt: InertText;
  placeHolder: InertText;
  value?: string;
  ignoreFocusOut?: boolean;
  validate?: (text: string) => InertText | undefined;
}): Thenable<string | undefined> {
  const validate = opts.validate;
  return whilePickerOpen(vscode.window.showInputBox({
    title: opts.title.value,
    prompt: opts.prompt.value,
    placeHolder: opts.placeHolder.value,
    ...(opts.value !== undefined ? { value: opts.value } : {}),
    ignoreFocusOut: opts.ignoreFocusOut ?? true,
    ...(validate ? { validateInput: (t: string) => validate(t)?.value } : {}),
  }));
}

/** Text (with our own $(icons)), tooltip (plain text, never markdown) and screen reader label of a status bar item. */
export function setStatusItem(item: vscode.StatusBarItem, v: { text: InertText; tooltip: InertText }): void {
  item.text = v.text.value;
  item.tooltip = v.tooltip.value;
  item.accessibilityInformation = { label: v.tooltip.value.replace(/\n/g, '. '), role: 'button' };
}

export function createPanel(
  viewType: string,
  title: InertText,
  showOptions: { viewColumn: vscode.ViewColumn; preserveFocus?: boolean },
  options: vscode.WebviewPanelOptions & vscode.WebviewOptions,
): vscode.WebviewPanel {
  return vscode.window.createWebviewPanel(viewType, title.value, showOptions, options);
}

/** Tab titles are one line and short: capped at 80 code points. */
export function setPanelTitle(panel: vscode.WebviewPanel, title: InertText): void {
  panel.title = inertText(title, { max: 80 }).value;
}

/**
 * A tree item (the contacts view is next): label, description and tooltip are InertText; the tooltip
 * stays a plain string (never a MarkdownString with peer text in it unless through peerMarkdown).
 */
export function treeItem(
  label: InertText,
  opts: {
    description?: InertText;
    tooltip?: InertText | vscode.MarkdownString;
    collapsibleState?: vscode.TreeItemCollapsibleState;
    id?: string;
    contextValue?: string;
    iconPath?: vscode.ThemeIcon;
    command?: { command: string; title: InertText; arguments?: unknown[] };
    /** What a screen reader says for the row (defaults to the label). */
    accessibilityLabel?: InertText;
  } = {},
): vscode.TreeItem {
  const item = new vscode.TreeItem(label.value, opts.collapsibleState ?? vscode.TreeItemCollapsibleState.None);
  if (opts.description) item.description = opts.description.value;
  if (opts.tooltip) item.tooltip = opts.tooltip instanceof vscode.MarkdownString ? opts.tooltip : opts.tooltip.value;
  if (opts.id !== undefined) item.id = opts.id;
  if (opts.contextValue !== undefined) item.contextValue = opts.contextValue;
  if (opts.iconPath) item.iconPath = opts.iconPath;
  if (opts.command) item.command = { command: opts.command.command, title: opts.command.title.value, ...(opts.command.arguments ? { arguments: opts.command.arguments } : {}) };
  if (opts.accessibilityLabel) item.accessibilityInformation = { label: opts.accessibilityLabel.value, role: 'treeitem' };
  return item;
}

/** A tree view of ours; its items come from treeItem() above. */
export function openTreeView<T>(id: string, provider: vscode.TreeDataProvider<T>): vscode.TreeView<T> {
  return vscode.window.createTreeView(id, { treeDataProvider: provider, showCollapseAll: false });
}

/** The count on a view (and its view container in the Activity Bar); 0 removes it. */
export function setViewBadge(view: vscode.TreeView<unknown>, count: number, tooltip: InertText): void {
  view.badge = count > 0 ? { value: count, tooltip: tooltip.value } : undefined;
}

/**
 * Peer text for a MarkdownString sink (a hover, a tree item tooltip): every markdown character
 * escaped, and never trusted, never HTML, never icons.
 */
export function peerMarkdown(raw: unknown): vscode.MarkdownString {
  const md = new vscode.MarkdownString(inertMarkdown(raw, { multiLine: true }), false);
  md.isTrusted = false;
  md.supportHtml = false;
  return md;
}

/** One log line: single-line (no forged lines), no invisible characters, no clickable schemes, at most 2000 characters. */
function logLine(x: unknown): unknown {
  if (typeof x === 'string') return inertText(x, { max: 2000 }).value;
  if (x instanceof Error) return inertText(x.stack ?? x.message, { max: 4000, multiLine: true }).value;
  return x;
}

const LOG_METHODS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'append', 'appendLine', 'replace']);

/** The extension's output channel, with every line written through logLine (core code logs peer names). */
export function createLog(name: string): vscode.LogOutputChannel {
  const channel = vscode.window.createOutputChannel(name, { log: true });
  return new Proxy(channel, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop === 'string' && LOG_METHODS.has(prop) && typeof v === 'function') {
        return (...args: unknown[]) => (v as (...a: unknown[]) => unknown).apply(target, args.map(logLine));
      }
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
