// The e2e rig's public surface: tests and scripts/demo.ts import from here.
export { ROOT, RESULTS_DIR, CACHE_DIR, safeName } from './paths';
export { ensureTools, type ToolPaths } from './tools';
export { freeTcpPort, freeUdpPort } from '../../helpers/freePort';
export { spawnGroup, type GroupProcess } from './processGroup';
export { startCodeServer, DEFAULT_SETTINGS, type CodeServer, type CodeServerOptions } from './codeServer';
export {
  launchBrowser,
  openEditor,
  runCommand,
  waitForCommand,
  waitForExtensionsActivated,
  waitForStatusBarItem,
  quickPickSelect,
  quickInputType,
  quickInputMessage,
  webviewFrame,
  notifications,
  waitForNotification,
  readClipboard,
  writeClipboard,
  screenshot,
  waitForKeyboardInList,
  CHROMIUM,
  CHROMIUM_ARGS,
} from './browser';
export { packageVsix, type PackageVsixOptions } from './vsix';
export {
  buildP2pChatVsix,
  readmeBaseUrl,
  startRendezvous,
  type Rendezvous,
  P2P_CHAT_EXTENSION_ID,
  P2P_CHAT_STATUS_ITEM,
  chatPanel,
  chatMessage,
  sendChatMessage,
  chatTexts,
  chatMessageIds,
  waitForChatTexts,
  waitForChatState,
  chatMember,
  nameNewRoom,
  conversationRows,
  conversationLabels,
  roomHeader,
  waitForDraft,
} from './p2pChat';
export { screenshotOnFailure } from './mochaHooks';
export { focusLog, FOCUS_LOG_SCRIPT } from './focusLog';
export {
  activeTab,
  activeEditorTitle,
  waitForActiveEditor,
  tab,
  openFile,
  selectionStatus,
  selectionStatusText,
  parseSelectionStatus,
  goToLine,
  selectLines,
  reloadWindow,
  statusBarItem,
  statusBarItemLabel,
  waitForStatusBarItemLabel,
  runningExtensionActivationMs,
  closeActiveEditor,
  screenshotRegion,
  sideBySide,
  describeEditors,
} from './workbench';
