// The message box: Enter sends, Shift+Enter inserts a newline, the draft survives hiding the panel
// (webview state at once, host copy debounced) and typing notifications are throttled.
import type { HostApi, PersistedState } from './vscodeApi';
import { TypingSignal } from './typingSignal';
import { outgoingText } from './viewModel';

const DRAFT_DEBOUNCE_MS = 400;

export class Composer {
  private readonly typing = new TypingSignal();
  private draftTimer: ReturnType<typeof setTimeout> | undefined;
  private typingTimer: ReturnType<typeof setTimeout> | undefined;
  private restored = false;
  /** The conversation on screen (RoomView.key); drafts are posted with it. */
  private room: string | undefined;

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
    const st = this.api.getState();
    // The conversation the local draft was typed in (undefined: none yet, or the one-room version's state).
    this.room = st.draftRoom;
    const text = st.draft ?? hostDraft ?? '';
    if (text && !this.input.value) {
      this.input.value = text;
      this.api.setState(this.state(text));
    }
    this.refresh();
  }

  /**
   * The host put a conversation on screen (an init). The first one restores the draft as before; a
   * different one later (the user switched conversations) sends what was typed for the old one and
   * shows the new one's draft, so drafts never travel between conversations.
   */
  showConversation(key: string | undefined, hostDraft: string | undefined): void {
    if (!this.restored) {
      const st = this.api.getState();
      if (st.draft === undefined || st.draftRoom === undefined || st.draftRoom === key) {
        this.restoreDraft(hostDraft);
        this.room = key;
        return;
      }
      // The page was rebuilt on another conversation than the one its draft was typed in (the panel was
      // hidden, then a different conversation was opened): that draft goes back to its own room below.
      this.restoreDraft(undefined);
    }
    if (key === this.room) return;
    if (this.draftTimer !== undefined || this.input.value) this.flushDraft();
    this.stopTyping();
    this.room = key;
    this.input.value = hostDraft ?? '';
    this.api.setState(this.state(this.input.value));
    this.autosize();
    this.refresh();
  }

  /** The webview's own copy of the draft, with the conversation it belongs to. */
  private state(draft: string): PersistedState {
    return { ...this.api.getState(), draft, ...(this.room !== undefined ? { draftRoom: this.room } : {}) };
  }

  setEnabled(enabled: boolean, placeholder: string): void {
    this.input.disabled = !enabled;
    this.input.placeholder = placeholder;
    this.refresh();
  }

  private onInput(): void {
    this.api.setState(this.state(this.input.value));
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
    this.api.setState(this.state(''));
    this.flushDraft();
    this.stopTyping();
    this.refresh();
  }

  private flushDraft(): void {
    if (this.draftTimer !== undefined) clearTimeout(this.draftTimer);
    this.draftTimer = undefined;
    this.api.post(this.room ? { type: 'draft', text: this.input.value, room: this.room } : { type: 'draft', text: this.input.value });
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
