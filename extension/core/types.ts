// The core's public vocabulary: what the UI layer (and the headless peer) sees of a room.
// Kept free of any I/O or `vscode` import so both front ends share it.

/** Hex of a 32-byte X25519 static public key: the only identity a peer has. */
export type PeerId = string;

export type PathKind = 'direct' | 'relayed';

export type ConnectionState =
  | { kind: 'idle' }
  | { kind: 'registering'; server: string }
  | { kind: 'waiting'; roomMembers: number } // registered, alone in the room
  | { kind: 'punching'; peers: number }
  | { kind: 'connected'; path: PathKind; peers: number }
  | { kind: 'reconnecting'; reason: string; attempt: number }
  | { kind: 'failed'; reason: string; hint: string };

export type Presence = 'online' | 'away' | 'offline';

export interface MemberInfo {
  peerId: PeerId;
  name: string;
  presence: Presence;
  /** Path to that member, undefined until a link is up. */
  path?: PathKind;
  /** Safety number shared by us and this member (both static keys). */
  safetyNumber?: string;
  /** Short fingerprint of the member's static key. */
  fingerprint?: string;
  /** Set by the UI from its contact store (TOFU / manual verification). */
  verified?: boolean;
}

export interface SnippetPayload {
  path: string; // workspace-relative, forward slashes
  language: string; // VS Code language id
  startLine: number; // 1-based, inclusive
  endLine: number;
  code: string;
}

export type ChatBody =
  | { kind: 'text'; text: string }
  | { kind: 'snippet'; snippet: SnippetPayload; text?: string };

export interface ChatMessage {
  /** Stable across retransmissions and restarts: `${senderPrefix}:${seq}`. */
  id: string;
  from: PeerId;
  fromName: string;
  sentAt: number; // sender's wall clock, ms since epoch
  body: ChatBody;
}

/** 'rejected': a member refused the message (too long, malformed: §8.3 of PROTOCOL.md); final, never 'delivered'. */
export type DeliveryState = 'queued' | 'sent' | 'delivered' | 'rejected';

/**
 * A file offered in a room, as its card in the transcript shows it. Never sent on the wire as such:
 * the host builds it from a transfer (core/transfer), `name` already reduced by safeFileName and
 * `mime` by safeMime. `id` is the card's id: the transfer id for a file received, a per-send id for
 * a file we sent (one card however many members it went to).
 */
export interface FileRef {
  id: string;
  name: string;
  size: number;
  mime: string;
}

/** What a transcript line can hold: a chat message's body, or a file card (local only, never on the wire). */
export type TranscriptBody = ChatBody | { kind: 'file'; file: FileRef };

/** One line of a room's transcript: what history keeps on disk and what the webview shows. */
export interface TranscriptEntry {
  id: string;
  from: PeerId;
  fromName: string;
  own: boolean;
  sentAt: number;
  body: TranscriptBody;
  delivery?: DeliveryState; // own messages only
}
