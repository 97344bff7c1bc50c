// What travels inside the encrypted, reliable stream (chat) and as ephemeral frames (typing, presence).
// Layouts: docs/PROTOCOL.md §8. Bodies are JSON because they are small, extensible and already
// authenticated; they are still hostile input and are validated field by field.
import type { ChatBody, SnippetPayload } from '../types';
import { Decoded, Reader, Writer, fail } from '../wire/bytes';

export const MAX_TEXT_CHARS = 64 * 1024;
export const MAX_SNIPPET_BYTES = 1024 * 1024 + 64 * 1024; // a 1 MiB snippet plus its metadata
const MAX_PATH_CHARS = 1024;

export const enum AppType {
  Chat = 0x01,
}

export const enum EphemeralType {
  Typing = 0x01,
  Presence = 0x02,
}

export interface ChatEnvelope {
  /** Random per sender installation: a reset sender starts a new sequence space instead of reusing numbers. */
  epoch: number;
  seq: number;
  sentAt: number;
  body: ChatBody;
}

export function encodeChat(m: ChatEnvelope): Buffer {
  const json = Buffer.from(JSON.stringify(m.body), 'utf8');
  return new Writer(17 + json.length).u8(AppType.Chat).u32(m.epoch).u32(m.seq).u64(BigInt(m.sentAt)).bytes(json).finish();
}

function str(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.length <= max;
}

function line(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 10_000_000;
}

export function validateBody(v: unknown): ChatBody | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (o.kind === 'text' && str(o.text, MAX_TEXT_CHARS)) return { kind: 'text', text: o.text };
  if (o.kind === 'snippet' && typeof o.snippet === 'object' && o.snippet !== null) {
    const s = o.snippet as Record<string, unknown>;
    if (
      str(s.path, MAX_PATH_CHARS) &&
      str(s.language, 64) &&
      line(s.startLine) &&
      line(s.endLine) &&
      (s.endLine as number) >= (s.startLine as number) &&
      str(s.code, MAX_SNIPPET_BYTES)
    ) {
      const snippet: SnippetPayload = { path: s.path, language: s.language, startLine: s.startLine, endLine: s.endLine, code: s.code };
      if (o.text !== undefined && !str(o.text, MAX_TEXT_CHARS)) return undefined;
      return o.text === undefined ? { kind: 'snippet', snippet } : { kind: 'snippet', snippet, text: o.text as string };
    }
  }
  return undefined;
}

export function decodeApp(buf: Buffer): Decoded<ChatEnvelope> {
  const r = new Reader(buf);
  const type = r.u8('type');
  if (type !== AppType.Chat) return fail(`unknown app message type ${type}`);
  const epoch = r.u32('epoch');
  const seq = r.u32('seq');
  const sentAt = Number(r.u64('sentAt'));
  const json = r.rest();
  if (r.failed) return fail(r.failed);
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.toString('utf8'));
  } catch {
    return fail('chat body is not JSON');
  }
  const body = validateBody(parsed);
  if (!body) return fail('chat body has the wrong shape');
  return { ok: true, value: { epoch, seq, sentAt, body } };
}

export type EphemeralMessage = { type: 'typing'; typing: boolean } | { type: 'presence'; away: boolean };

export function encodeEphemeral(m: EphemeralMessage): Buffer {
  return m.type === 'typing' ? Buffer.from([EphemeralType.Typing, m.typing ? 1 : 0]) : Buffer.from([EphemeralType.Presence, m.away ? 1 : 0]);
}

export function decodeEphemeral(buf: Buffer): Decoded<EphemeralMessage> {
  const r = new Reader(buf);
  const type = r.u8('type');
  const flag = r.u8('flag');
  if (flag > 1) return fail('bad flag');
  if (type === EphemeralType.Typing) return r.end({ type: 'typing', typing: flag === 1 });
  if (type === EphemeralType.Presence) return r.end({ type: 'presence', away: flag === 1 });
  return fail(`unknown ephemeral type ${type}`);
}
