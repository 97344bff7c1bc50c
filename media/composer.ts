// The message box: Enter sends, Shift+Enter inserts a newline, the draft survives hiding the panel
// (webview state at once, host copy debounced) and typing notifications are throttled.
import type { HostApi } from './vscodeApi';
import { TypingSignal } from './typingSignal';
import { outgoingText } from './viewModel';

const DRAFT_DEBOUNCE_MS = 400;

export class Composer {
  private readonly typing = new TypingSignal();
  private draftTimer: ReturnType<typeof setTimeout> | undefined;
  private typingTimer: ReturnType<typeof setTimeout> | undefined;
  private restored = false;

  constructor(
    private readonly input: HTMLTextAreaElement,
    private readonly send: HTMLButtonElement,
    private readonly api: HostApi,
  ) {
    input.addEventListener('input', () => this.onInput());
    input.addEventListener('keydown', (ev) => this.onKeyDown(ev));
    input.addEventListener('blur', () => this.stopTyping());
    send.addEventListener('click', () => {
      this.submit();
      this.input.focus();
    });
    window.addEventListener('resize', () => this.autosize());
    // Leaving the page (panel disposed or reloaded) must not lose the last keystrokes.
    window.addEventListener('pagehide', () => this.flushDraft());
    this.refresh();
  }

  /** Apply the draft once: the webview's own copy is newer than the host's debounced one. */
  restoreDraft(hostDraft: string | undefined): void {
    if (this.restored) return;
    this.restored = true;
    const local = this.api.getState().draft;
    const text = local ?? hostDraft ?? '';
    if (text && !this.input.value) {
      this.input.value = text;
      this.api.setState({ ...this.api.getState(), draft: text });
    }
    this.refresh();
  }

  setEnabled(enabled: boolean, placeholder: string): void {
    this.input.disabled = !enabled;
    this.input.placeholder = placeholder;
    this.refresh();
  }

  private onInput(): void {
    this.api.setState({ ...this.api.getState(), draft: this.input.value });
    if (this.draftTimer !== undefined) clearTimeout(this.draftTimer);
    this.draftTimer = setTimeout(() => this.flushDraft(), DRAFT_DEBOUNCE_MS);
    this.signal(this.typing.input(Date.now(), this.input.value.trim().length > 0));
    this.refresh();
  }

  private onKeyDown(ev: KeyboardEvent): void {
    if (ev.key !== 'Enter' || ev.isComposing || ev.keyCode === 229) return; // 229: IME still composing
    if (ev.shiftKey || ev.altKey) return; // newline
    ev.preventDefault();
    this.submit();
  }

  private submit(): void {
    if (this.input.disabled) return;
    const text = outgoingText(this.input.value);
    if (text === undefined) return;
    this.api.post({ type: 'send', text });
    this.input.value = '';
    this.api.setState({ ...this.api.getState(), draft: '' });
    this.flushDraft();
    this.stopTyping();
    this.refresh();
  }

  private flushDraft(): void {
    if (this.draftTimer !== undefined) clearTimeout(this.draftTimer);
    this.draftTimer = undefined;
    this.api.post({ type: 'draft', text: this.input.value });
  }

  private stopTyping(): void {
    this.signal(this.typing.stop());
  }

  private signal(v: boolean | undefined): void {
    if (v !== undefined) this.api.post({ type: 'typing', typing: v });
    if (this.typingTimer !== undefined) clearTimeout(this.typingTimer);
    this.typingTimer = undefined;
    const deadline = this.typing.deadline();
    if (deadline !== undefined) {
      this.typingTimer = setTimeout(() => this.signal(this.typing.tick(Date.now())), Math.max(0, deadline - Date.now()) + 10);
    }
  }

  private refresh(): void {
    this.send.disabled = this.input.disabled || outgoingText(this.input.value) === undefined;
    this.autosize();
  }

  private autosize(): void {
    // CSSOM writes are allowed under the CSP (style attributes in markup are not).
    this.input.style.height = 'auto';
    this.input.style.height = `${this.input.scrollHeight + 2}px`;
  }
}
