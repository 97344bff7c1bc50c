// What to tell the user when the rendezvous server refuses us or does not answer: a reason and a
// hint in plain words for each case, so a full room does not send people to check their firewall.
// The server's own text is not shown (it is another machine's string and says less than the code);
// unknown codes (a newer server) get a generic reason naming the code. Pure: no I/O, no vscode.
import { ErrorCode } from './wire/rendezvous';

export interface Trouble {
  reason: string;
  hint: string;
}

export function rendezvousRefusal(code: number, serverText = ''): Trouble {
  switch (code) {
    case ErrorCode.RoomFull:
      return {
        reason: 'the room is full',
        hint: 'The rendezvous server allows only so many members in one room. Ask someone to leave, or start a new room. Still retrying.',
      };
    case ErrorCode.ServerFull:
      return /address/i.test(serverText)
        ? {
            reason: 'the rendezvous server takes no more members from your address',
            hint: 'Too many members are connected from your network address (other editors or p2p-chat on your network). Close some, or wait. Still retrying.',
          }
        : {
            reason: 'the rendezvous server is full',
            hint: 'It has no room for more members right now. Try again later, or ask for another server (p2pChat.rendezvousServer). Still retrying.',
          };
    case ErrorCode.RateLimited:
      return {
        reason: 'the rendezvous server is limiting requests from your address',
        hint: 'Too many requests came from your network in a short time. Wait a minute: P2P Chat retries by itself.',
      };
    case ErrorCode.UnsupportedVersion:
      return {
        reason: 'the rendezvous server speaks another protocol version',
        hint: 'Update P2P Chat, or ask whoever runs the server to update it, so both speak the same version.',
      };
    case ErrorCode.Malformed:
      return {
        reason: 'the rendezvous server could not read our request',
        hint: 'The server may run a different version of P2P Chat, or something on the way altered the packet. Update P2P Chat, or try another server.',
      };
    default:
      return {
        reason: `the rendezvous server refused us (code ${code})`,
        hint: 'This version of P2P Chat does not know that refusal: the server may be newer. Update P2P Chat, or ask whoever runs the server.',
      };
  }
}

/** No answer at all: the only case where the address or the network is the likely culprit. */
export function rendezvousSilence(server: string, silentMs: number): Trouble {
  return {
    reason: `the rendezvous server ${server} has not answered for ${Math.round(silentMs / 1000)} s`,
    hint: 'Check the p2pChat.rendezvousServer setting (host:port), that the server is running, and that your network allows UDP to it. Still retrying.',
  };
}
