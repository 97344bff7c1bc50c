// Entry point of the chat webview. It renders what the host sends and posts user intents back;
// it never opens sockets or stores history (the host owns state and re-sends it after `ready`).
//
// Stable hooks for end-to-end tests (keep in sync with test/webview and test/e2e):
//   #p2p-app                         root
//   #p2p-room                        room label; [data-testid="named-room"] badge on named (unverified) rooms
//   #p2p-copy-invite                 Copy Invite button (only when the room has an invite) → {type:'copyInvite'}
//   #p2p-banner                      connection banner; data-state=<ConnectionState.kind>, data-tone,
//                                    data-path=direct|relayed when connected
//   #p2p-retry / #p2p-connect        banner actions → {type:'retry'} / {type:'connect'}
//   #p2p-members                     <ul> of .p2p-member[data-peer-id][data-presence][data-verified]
//   #p2p-member-count                member count in the section header
//   .p2p-verify                      unverified mark (a button) → {type:'verifyPeer', peerId}
//   .p2p-verified                    verified mark;  .p2p-path[data-path=direct|relayed|none]
//   #p2p-transcript                  role="log" aria-live="polite"
//   .p2p-group[data-from]            consecutive messages of one sender (.p2p-own for ours); .p2p-sender, .p2p-time
//   .p2p-message[data-id][data-kind] one message (data-testid="message"); .p2p-body holds rendered text
//   .p2p-delivery[data-delivery]     queued | sent | delivered (own messages only)
//   .p2p-day                         day divider
//   .p2p-snippet / .p2p-open         snippet card / its Open button → {type:'openSnippet', snippet}
//   #p2p-jump                        "new messages below" button when scrolled up
//   #p2p-earlier                     "Show N earlier messages" (only the last 300 are drawn at first)
//   #p2p-typing                      typing indicator text ("Alice is typing…")
//   #p2p-input / #p2p-send           composer textarea / Send button → {type:'send', text}
import type { HostToWebview } from '../extension/shared/protocol';
import { renderBanner } from './banner';
import { Composer } from './composer';
import { startLazyHighlighting } from './lazyHighlight';
import { h, icon, srOnly } from './dom';
import { renderMembers } from './members';
import { activeTypers, initialModel, isHostMessage, nextTypingExpiry, reduce, type ChatModel } from './state';
import { TranscriptView } from './transcript';
import { cleanName, typingText } from './viewModel';
import { hostApi } from './vscodeApi';

startLazyHighlighting(document); // first: document.currentScript is only set while this script runs
const api = hostApi();
const post = api.post;
let model: ChatModel = initialModel();

// ---- skeleton -------------------------------------------------------------------------------
const roomLabel = h('bdi', { id: 'p2p-room', class: 'p2p-room-label', text: 'P2P Chat' });
const namedBadge = h(
  'span',
  {
    class: 'p2p-badge p2p-badge-warning',
    title: 'Anyone who knows or guesses a room name can join it. Compare safety numbers before sharing anything sensitive.',
    attrs: { 'data-testid': 'named-room' },
  },
  icon('workspace-untrusted'),
  h('span', { text: 'Named room' }),
);
namedBadge.hidden = true;
const copyInvite = h(
  'button',
  {
    id: 'p2p-copy-invite',
    class: 'p2p-button p2p-button-secondary',
    title: 'Copy the invite to the clipboard, to share with the people you want in this room',
    attrs: { type: 'button' },
    on: { click: () => post({ type: 'copyInvite' }) },
  },
  icon('copy'),
  h('span', { text: 'Copy Invite' }),
);
copyInvite.hidden = true;

const banner = h('div', { id: 'p2p-banner', class: 'p2p-banner', attrs: { role: 'status' } });
banner.hidden = true; // until the host's init: avoids flashing "Not connected"

const memberCount = h('span', { id: 'p2p-member-count', class: 'p2p-count', text: '0' });
const memberList = h('ul', { id: 'p2p-members', class: 'p2p-member-list', attrs: { 'aria-label': 'Members' } });
const members = h(
  'details',
  { id: 'p2p-members-section', class: 'p2p-section', attrs: { open: '' } },
  h('summary', { class: 'p2p-section-header' }, icon('chevron-right', 'p2p-twistie'), h('span', { text: 'Members' }), memberCount),
  memberList,
);

const transcriptEl = h('div', {
  id: 'p2p-transcript',
  class: 'p2p-transcript',
  attrs: { role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages', tabindex: '0' },
});
const jump = h(
  'button',
  { id: 'p2p-jump', class: 'p2p-jump p2p-button', attrs: { type: 'button' } },
  icon('arrow-down'),
  h('span', { text: 'New messages' }),
);
jump.hidden = true;

const typing = h('div', { id: 'p2p-typing', class: 'p2p-typing', attrs: { 'aria-live': 'polite' } });

const input = h('textarea', {
  id: 'p2p-input',
  class: 'p2p-input',
  attrs: { rows: '1', 'aria-label': 'Message', 'aria-describedby': 'p2p-input-hint', spellcheck: 'true' },
});
const send = h(
  'button',
  { id: 'p2p-send', class: 'p2p-send', title: 'Send (Enter)', attrs: { type: 'button', 'aria-label': 'Send message' } },
  icon('send'),
);
const hint = srOnly('Enter sends the message; Shift+Enter starts a new line.');
hint.id = 'p2p-input-hint';
const composerEl = h('div', { id: 'p2p-composer', class: 'p2p-composer' }, h('div', { class: 'p2p-input-box' }, input, send), hint);

const app = h(
  'div',
  { id: 'p2p-app', class: 'p2p-app' },
  h(
    'header',
    { class: 'p2p-header' },
    h('div', { class: 'p2p-room' }, icon('comment-discussion'), roomLabel, namedBadge),
    h('div', { class: 'p2p-actions' }, copyInvite),
  ),
  banner,
  members,
  h('div', { class: 'p2p-transcript-wrap' }, transcriptEl, jump),
  typing,
  composerEl,
);
document.body.append(app);

const transcript = new TranscriptView(transcriptEl, jump, post);
const composer = new Composer(input, send, api);
// A draft kept by the webview itself is newer than the host's copy: show it before init arrives.
if (api.getState().draft !== undefined) composer.restoreDraft(undefined);

// ---- rendering ------------------------------------------------------------------------------
function renderRoom(): void {
  const room = model.room;
  roomLabel.textContent = room ? cleanName(room.roomLabel) : 'P2P Chat';
  namedBadge.hidden = !room?.named;
  copyInvite.hidden = !room?.invite;
  composer.setEnabled(
    room !== undefined,
    room ? `Message ${cleanName(room.roomLabel)}` : 'Join a room to start chatting',
  );
}

let typingTimer: ReturnType<typeof setTimeout> | undefined;
function renderTyping(): void {
  const now = Date.now();
  const text = typingText(activeTypers(model, now));
  if (typing.textContent !== text) typing.textContent = text;
  typing.classList.toggle('p2p-active', text !== '');
  if (typingTimer !== undefined) clearTimeout(typingTimer);
  const next = nextTypingExpiry(model, now);
  typingTimer = next === undefined ? undefined : setTimeout(renderTyping, next - now + 20);
}

function renderAll(): void {
  renderRoom();
  banner.hidden = false;
  renderBanner(banner, model.state, post);
  renderMembers(memberList, memberCount, model.members, model.room?.named ?? false, post);
  transcript.reset(model.transcript, model.room?.selfName ?? 'You', Date.now());
  renderTyping();
}

// Each conversation's scroll position while this page lives (switching conversations re-sends init).
const scrolls = new Map<string, number | undefined>();
let shownKey: string | undefined;

function handle(msg: HostToWebview): void {
  const r = reduce(model, msg, Date.now());
  model = r.model;
  switch (r.change) {
    case 'all': {
      const key = msg.type === 'init' ? msg.room?.key : shownKey;
      if (key !== shownKey && shownKey !== undefined) scrolls.set(shownKey, transcript.scrollFromBottom());
      renderAll();
      if (key !== shownKey) {
        const back = key !== undefined ? scrolls.get(key) : undefined;
        if (back !== undefined) transcript.restoreScroll(back);
      }
      shownKey = key;
      if (msg.type === 'init') composer.showConversation(msg.room?.key, msg.draft);
      break;
    }
    case 'state':
      banner.hidden = false;
      renderBanner(banner, model.state, post);
      break;
    case 'members':
      renderMembers(memberList, memberCount, model.members, model.room?.named ?? false, post);
      break;
    case 'append':
      transcript.append(r.entry!, Date.now());
      renderTyping();
      break;
    case 'replace':
      transcript.replace(r.entry!);
      renderTyping();
      break;
    case 'delivery':
      transcript.updateDelivery(r.entry!);
      break;
    case 'typing':
      renderTyping();
      break;
    case 'none':
      break;
  }
}

window.addEventListener('message', (ev: MessageEvent<unknown>) => {
  if (isHostMessage(ev.data)) handle(ev.data);
});

// The host hands the focus back to a quick pick of its own that a late VS Code re-focus of this webview
// took it from (extension/ui/sinks.ts, pick()).
window.addEventListener('focus', () => post({ type: 'focused' }));
post({ type: 'ready' });
