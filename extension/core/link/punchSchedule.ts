// When to send the next punch: fast at first (most holes open within a few round trips), then backing
// off so a peer that is not there costs little. Both sides run the same schedule, so their packets cross.
export const PUNCH_DELAYS_MS = [0, 40, 80, 160, 300, 500, 800, 1000];

export function punchDelay(attempt: number): number {
  return PUNCH_DELAYS_MS[Math.min(attempt, PUNCH_DELAYS_MS.length - 1)];
}
