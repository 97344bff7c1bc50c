// The one message protocol between the extension host and the chat webview.
// Both sides import this file; the union's `type` field is the discriminant.
import type { ConnectionState, DeliveryState, FileRef, MemberInfo, PeerId, SnippetPayload, TranscriptEntry } from '../core/types';

export type { FileRef, TranscriptEntry };

/**
 * The live state of a file card (the card itself is a transcript entry with a `file` body; this is
 * what changes: progress, speed, time left, which buttons apply). Keyed by the card's id.
 */
export interface FileStatus {
  id: string;
  direction: 'in' | 'out';
  /**
   * offered: waiting for our Save (incoming); waiting: for the other side (to come online, to accept);
   * active: bytes moving; done: verified and saved (incoming) / received by every recipient (outgoing);
   * cancelled: stopped by either side; gone: this editor no longer knows the transfer (an old card).
   */
  state: 'offered' | 'waiting' | 'active' | 'done' | 'cancelled' | 'gone';
  /** Bytes verified (incoming) or acknowledged (outgoing; summed over the recipients). */
  bytes: number;
  /** Bytes in all (outgoing: the file's size times the recipients). */
  total: number;
  /** Bytes per second, recent. */
  rate: number;
  /** Seconds left at that rate. */
  eta?: number;
  /** Why it stopped (already inert: our own words, or the peer's reason reduced by the host). */
  error?: string;
  /** The file can be opened in the editor (a saved incoming file, or our own outgoing file). */
  canOpen: boolean;
  /** Outgoing: how many recipients, and how many have the whole file. */
  recipients?: number;
  received?: number;
}

/** The four image formats the card previews, by their magic bytes (never SVG: it is a document). */
export type PreviewMime = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp';

/** A file handed over by the webview (dropped from the OS or pasted): its bytes travel in the message. */
export interface DroppedFile {
  name: string;
  bytes: Uint8Array;
}

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
  | { type: 'init'; room?: RoomView; state: ConnectionState; members: MemberInfo[]; transcript: TranscriptEntry[]; draft?: string; files?: FileStatus[] }
  | { type: 'state'; state: ConnectionState }
  | { type: 'members'; members: MemberInfo[] }
  | { type: 'message'; entry: TranscriptEntry }
  | { type: 'delivery'; id: string; delivery: DeliveryState }
  | { type: 'typing'; peerId: PeerId; name: string; typing: boolean }
  | { type: 'cleared' }
  /** A file card's state changed (progress is posted at most a few times a second). */
  | { type: 'fileStatus'; status: FileStatus }
  /** An image card's preview: bytes of a verified, saved file (or our own), sniffed as one of PreviewMime. */
  | { type: 'filePreview'; id: string; mime: PreviewMime; bytes: Uint8Array };

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
  /** The composer's "Send files…" button: the host shows a file picker. */
  | { type: 'pickFiles' }
  /** The buttons of a file card. */
  | { type: 'fileAction'; id: string; action: 'save' | 'open' | 'cancel' }
  /** Files dropped from the OS or pasted from the clipboard: their bytes. */
  | { type: 'sendFiles'; files: DroppedFile[] }
  /** Files dragged from VS Code's Explorer or an editor tab: their URIs (the host checks each). */
  | { type: 'sendUris'; uris: string[] }
  /** The page got the keyboard focus (the host gives it back to an open picker of ours: sinks.ts). */
  | { type: 'focused' };
