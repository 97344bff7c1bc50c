// Presence: a window out of focus for a while shows its user as away to the room, and as present
// again the moment it is focused.
import type * as vscode from 'vscode';
import type { RoomSession } from './roomSession';

const AWAY_AFTER_MS = 5 * 60 * 1000;

export class AwayTracker implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;
  private away = false;

  constructor(private readonly session: () => Pick<RoomSession, 'setAway'> | undefined) {}

  get isAway(): boolean {
    return this.away;
  }

  onWindowState(focused: boolean): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (focused) {
      if (this.away) {
        this.away = false;
        this.session()?.setAway(false);
      }
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.away = true;
      this.session()?.setAway(true);
    }, AWAY_AFTER_MS);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
