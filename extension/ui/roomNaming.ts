// Asking for a room's name: when starting a room (a suggestion the creator may keep: Enter or Escape)
// and for "Rename Room". The name is peer text once it travels, so it is cleaned the way every member
// compares it (core/room/roomName.ts) and shown only through the inert-text sinks.
import { inert } from '../core/inertText';
import { cleanRoomName, MAX_ROOM_NAME_CHARS } from '../core/room/roomName';
import { askInput } from './sinks';

const PRIVACY = 'Members see it; it travels end-to-end encrypted (in the invite and between members), never to the server.';

function validate(text: string) {
  if (Array.from(text.trim()).length > MAX_ROOM_NAME_CHARS) return inert`At most ${MAX_ROOM_NAME_CHARS} characters.`;
  return undefined;
}

/** A new room's name: what was typed, or the suggestion when the box is left empty or dismissed (Escape). */
export async function askNewRoomName(suggestion: string): Promise<string> {
  const typed = await askInput({
    title: inert`P2P Chat: Name the new room`,
    prompt: inert`${PRIVACY} Enter or Escape keeps the suggestion.`,
    placeHolder: inert`${suggestion}`,
    value: suggestion,
    // A focus change (another window, a notification) must not drop the dialog half-way.
    ignoreFocusOut: true,
    validate,
  });
  return (typed !== undefined && cleanRoomName(typed)) || suggestion;
}

/** A new name for a room; undefined when cancelled or unchanged. */
export async function askRename(current: string): Promise<string | undefined> {
  const typed = await askInput({
    title: inert`P2P Chat: Rename Room`,
    prompt: inert`The new name for every member. ${PRIVACY}`,
    placeHolder: inert`${current}`,
    value: current,
    ignoreFocusOut: true,
    validate: (t) => validate(t) ?? (t.trim() !== '' && !cleanRoomName(t) ? inert`The name needs at least one visible character.` : undefined),
  });
  const name = typed === undefined ? '' : cleanRoomName(typed);
  return name && name !== current ? name : undefined;
}
