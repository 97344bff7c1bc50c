// Reads the `p2pChat.*` settings; normalisation lives in settings.ts.
import * as os from 'node:os';
import * as vscode from 'vscode';
import { normalizeSettings, type ChatSettings } from './settings';

export const SECTION = 'p2pChat';

function osUserName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? '';
  }
}

export function readSettings(): ChatSettings {
  const c = vscode.workspace.getConfiguration(SECTION);
  return normalizeSettings(
    {
      rendezvousServer: c.get('rendezvousServer'),
      displayName: c.get('displayName'),
      localPort: c.get('localPort'),
      keepaliveSeconds: c.get('keepaliveSeconds'),
      notifications: c.get('notifications'),
      mentionNotifications: c.get('mentionNotifications'),
      hostRendezvousPort: c.get('hostRendezvousPort'),
    },
    osUserName(),
  );
}

export function openSettings(key = SECTION): Thenable<unknown> {
  return vscode.commands.executeCommand('workbench.action.openSettings', key);
}
