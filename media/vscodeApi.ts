// Typed access to the VS Code webview API. acquireVsCodeApi may be called once per page load.
import type { WebviewToHost } from '../extension/shared/protocol';

/** What survives the panel being hidden (VS Code keeps it per webview). */
export interface PersistedState {
  draft?: string;
  /** The conversation (RoomView.key) the draft was typed in. */
  draftRoom?: string;
}

interface RawApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): RawApi;

export interface HostApi {
  post(message: WebviewToHost): void;
  getState(): PersistedState;
  setState(state: PersistedState): void;
}

export function hostApi(): HostApi {
  const raw = acquireVsCodeApi();
  return {
    post: (m) => raw.postMessage(m),
    getState: () => {
      const s = raw.getState() as { draft?: unknown; draftRoom?: unknown } | undefined | null;
      if (!s || typeof s !== 'object' || typeof s.draft !== 'string') return {};
      return typeof s.draftRoom === 'string' ? { draft: s.draft, draftRoom: s.draftRoom } : { draft: s.draft };
    },
    setState: (s) => raw.setState(s),
  };
}
