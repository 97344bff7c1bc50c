// The one message protocol between the extension host and the chat webview.
// Both sides import this file; the union's `type` field is the discriminant.
import type { ConnectionState, DeliveryState, MemberInfo, PeerId, SnippetPayload, TranscriptEntry } from '../core/types';

export type { TranscriptEntry };

export interface RoomView {
  roomLabel: string;
  named: boolean; // named (low-entropy) rooms are unverified by construction
  selfId: PeerId;
  selfName: string;
  invite?: string;
  /** Which conversation this is (the room id, hex): the webview keeps a draft and scroll position per key. */
  key?: string;
}

/** Host → webview. */
export type HostToWebview =
  | { type: 'init'; room?: RoomView; state: ConnectionState; members: MemberInfo[]; transcript: TranscriptEntry[]; draft?: string }
  | { type: 'state'; state: ConnectionState }
  | { type: 'members'; members: MemberInfo[] }
  | { type: 'message'; entry: TranscriptEntry }
  | { type: 'delivery'; id: string; delivery: DeliveryState }
  | { type: 'typing'; peerId: PeerId; name: string; typing: boolean }
  | { type: 'cleared' };

/** Webview → host. */
export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'send'; text: string }
  | { type: 'typing'; typing: boolean }
  /** `room`: the conversation the draft was typed in (it may no longer be the active one when it arrives). */
  | { type: 'draft'; text: string; room?: string }
  | { type: 'openSnippet'; snippet: SnippetPayload }
  | { type: 'copyInvite' }
  | { type: 'verifyPeer'; peerId: PeerId }
  | { type: 'connect' }
  | { type: 'retry' }
  /** The page got the keyboard focus (the host gives it back to an open picker of ours: sinks.ts). */
  | { type: 'focused' };
