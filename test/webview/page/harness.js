// Browser-side test harness, loaded (with the page nonce) before dist main.js. It stands in for what
// VS Code provides a webview: acquireVsCodeApi (recording posts, state kept across reloads in
// sessionStorage like a hidden-then-shown panel), the theme's --vscode-* variables, the body theme
// class and VS Code's default webview stylesheet. Plain JS: it runs in the page, not under tsc.
(function () {
  'use strict';
  const params = new URLSearchParams(location.search);
  const theme = params.get('theme') || 'dark';

  const common = {
    '--vscode-font-family': '-apple-system, BlinkMacSystemFont, "Segoe WPC", "Segoe UI", "Ubuntu", "Droid Sans", "DejaVu Sans", sans-serif',
    '--vscode-font-size': '13px',
    '--vscode-font-weight': 'normal',
    '--vscode-editor-font-family': '"Droid Sans Mono", "DejaVu Sans Mono", monospace',
    '--vscode-editor-font-size': '13px',
    '--vscode-editor-font-weight': 'normal',
  };

  // Approximations of Dark Modern, Light Modern and Dark High Contrast.
  const themes = {
    dark: {
      bodyClass: 'vscode-dark',
      vars: {
        '--vscode-foreground': '#cccccc',
        '--vscode-editor-foreground': '#cccccc',
        '--vscode-editor-background': '#1f1f1f',
        '--vscode-sideBar-background': '#181818',
        '--vscode-descriptionForeground': '#9d9d9d',
        '--vscode-disabledForeground': 'rgba(204, 204, 204, 0.5)',
        '--vscode-errorForeground': '#f85149',
        '--vscode-focusBorder': '#0078d4',
        '--vscode-widget-border': '#313131',
        '--vscode-widget-shadow': 'rgba(0, 0, 0, 0.36)',
        '--vscode-panel-border': '#2b2b2b',
        '--vscode-icon-foreground': '#cccccc',
        '--vscode-button-background': '#0078d4',
        '--vscode-button-foreground': '#ffffff',
        '--vscode-button-hoverBackground': '#026ec1',
        '--vscode-button-border': 'rgba(255, 255, 255, 0.07)',
        '--vscode-button-secondaryBackground': '#313131',
        '--vscode-button-secondaryForeground': '#cccccc',
        '--vscode-button-secondaryHoverBackground': '#3c3c3c',
        '--vscode-badge-background': '#616161',
        '--vscode-badge-foreground': '#f8f8f8',
        '--vscode-input-background': '#313131',
        '--vscode-input-foreground': '#cccccc',
        '--vscode-input-border': '#3c3c3c',
        '--vscode-input-placeholderForeground': '#989898',
        '--vscode-inputValidation-infoBackground': '#063b49',
        '--vscode-inputValidation-infoBorder': '#007acc',
        '--vscode-inputValidation-warningBackground': '#352a05',
        '--vscode-inputValidation-warningBorder': '#b89500',
        '--vscode-inputValidation-errorBackground': '#5a1d1d',
        '--vscode-inputValidation-errorBorder': '#be1100',
        '--vscode-editorWidget-background': '#202020',
        '--vscode-editorGroupHeader-tabsBackground': '#181818',
        '--vscode-editorLineNumber-foreground': '#6e7681',
        '--vscode-editorInfo-foreground': '#3794ff',
        '--vscode-editorWarning-foreground': '#cca700',
        '--vscode-editorError-foreground': '#f14c4c',
        '--vscode-testing-iconPassed': '#73c991',
        '--vscode-textLink-foreground': '#4daafc',
        '--vscode-textLink-activeForeground': '#4daafc',
        '--vscode-textCodeBlock-background': '#2b2b2b',
        '--vscode-textPreformat-foreground': '#d0d0d0',
        '--vscode-textPreformat-background': '#3c3c3c',
        '--vscode-textBlockQuote-background': '#2b2b2b',
        '--vscode-textBlockQuote-border': '#616161',
        '--vscode-toolbar-hoverBackground': 'rgba(90, 93, 94, 0.31)',
        '--vscode-list-hoverBackground': '#2a2d2e',
        '--vscode-sideBarSectionHeader-foreground': '#cccccc',
        '--vscode-scrollbarSlider-background': 'rgba(121, 121, 121, 0.4)',
        '--vscode-scrollbarSlider-hoverBackground': 'rgba(100, 100, 100, 0.7)',
        '--vscode-scrollbarSlider-activeBackground': 'rgba(191, 191, 191, 0.4)',
        '--vscode-charts-blue': '#3794ff',
        '--vscode-charts-green': '#89d185',
        '--vscode-charts-orange': '#d18616',
        '--vscode-charts-purple': '#b180d7',
        '--vscode-charts-red': '#f14c4c',
        '--vscode-charts-yellow': '#cca700',
        '--vscode-debugTokenExpression-name': '#c586c0',
        '--vscode-debugTokenExpression-value': 'rgba(204, 204, 204, 0.6)',
        '--vscode-debugTokenExpression-string': '#ce9178',
        '--vscode-debugTokenExpression-boolean': '#4e94ce',
        '--vscode-debugTokenExpression-number': '#b5cea8',
        '--vscode-debugTokenExpression-error': '#f48771',
        '--vscode-symbolIcon-functionForeground': '#b180d7',
        '--vscode-symbolIcon-classForeground': '#ee9d28',
        '--vscode-symbolIcon-variableForeground': '#75beff',
        '--vscode-symbolIcon-keywordForeground': '#cccccc',
        '--vscode-symbolIcon-fileForeground': '#cccccc',
      },
    },
    light: {
      bodyClass: 'vscode-light',
      vars: {
        '--vscode-foreground': '#3b3b3b',
        '--vscode-editor-foreground': '#3b3b3b',
        '--vscode-editor-background': '#ffffff',
        '--vscode-sideBar-background': '#f8f8f8',
        '--vscode-descriptionForeground': '#717171',
        '--vscode-disabledForeground': 'rgba(97, 97, 97, 0.5)',
        '--vscode-errorForeground': '#f85149',
        '--vscode-focusBorder': '#005fb8',
        '--vscode-widget-border': '#e5e5e5',
        '--vscode-widget-shadow': 'rgba(0, 0, 0, 0.16)',
        '--vscode-panel-border': '#e5e5e5',
        '--vscode-icon-foreground': '#3b3b3b',
        '--vscode-button-background': '#005fb8',
        '--vscode-button-foreground': '#ffffff',
        '--vscode-button-hoverBackground': '#0258a8',
        '--vscode-button-border': 'rgba(0, 0, 0, 0.1)',
        '--vscode-button-secondaryBackground': '#e5e5e5',
        '--vscode-button-secondaryForeground': '#3b3b3b',
        '--vscode-button-secondaryHoverBackground': '#cccccc',
        '--vscode-badge-background': '#cccccc',
        '--vscode-badge-foreground': '#3b3b3b',
        '--vscode-input-background': '#ffffff',
        '--vscode-input-foreground': '#3b3b3b',
        '--vscode-input-border': '#cecece',
        '--vscode-input-placeholderForeground': '#767676',
        '--vscode-inputValidation-infoBackground': '#d6ecf2',
        '--vscode-inputValidation-infoBorder': '#007acc',
        '--vscode-inputValidation-warningBackground': '#f6f5d2',
        '--vscode-inputValidation-warningBorder': '#bf8803',
        '--vscode-inputValidation-errorBackground': '#f2dede',
        '--vscode-inputValidation-errorBorder': '#be1100',
        '--vscode-editorWidget-background': '#f8f8f8',
        '--vscode-editorGroupHeader-tabsBackground': '#f8f8f8',
        '--vscode-editorLineNumber-foreground': '#6e7681',
        '--vscode-editorInfo-foreground': '#1a85ff',
        '--vscode-editorWarning-foreground': '#bf8803',
        '--vscode-editorError-foreground': '#e51400',
        '--vscode-testing-iconPassed': '#388a34',
        '--vscode-textLink-foreground': '#005fb8',
        '--vscode-textLink-activeForeground': '#005fb8',
        '--vscode-textCodeBlock-background': '#f3f3f3',
        '--vscode-textPreformat-foreground': '#3b3b3b',
        '--vscode-textPreformat-background': 'rgba(0, 0, 0, 0.12)',
        '--vscode-textBlockQuote-background': '#f8f8f8',
        '--vscode-textBlockQuote-border': '#e5e5e5',
        '--vscode-toolbar-hoverBackground': 'rgba(184, 184, 184, 0.31)',
        '--vscode-list-hoverBackground': '#f2f2f2',
        '--vscode-sideBarSectionHeader-foreground': '#3b3b3b',
        '--vscode-scrollbarSlider-background': 'rgba(100, 100, 100, 0.4)',
        '--vscode-scrollbarSlider-hoverBackground': 'rgba(100, 100, 100, 0.7)',
        '--vscode-scrollbarSlider-activeBackground': 'rgba(0, 0, 0, 0.6)',
        '--vscode-charts-blue': '#1a85ff',
        '--vscode-charts-green': '#388a34',
        '--vscode-charts-orange': '#d18616',
        '--vscode-charts-purple': '#652d90',
        '--vscode-charts-red': '#e51400',
        '--vscode-charts-yellow': '#bf8803',
        '--vscode-debugTokenExpression-name': '#9b46b0',
        '--vscode-debugTokenExpression-value': 'rgba(108, 108, 108, 0.8)',
        '--vscode-debugTokenExpression-string': '#a31515',
        '--vscode-debugTokenExpression-boolean': '#0000ff',
        '--vscode-debugTokenExpression-number': '#098658',
        '--vscode-debugTokenExpression-error': '#e51400',
        '--vscode-symbolIcon-functionForeground': '#652d90',
        '--vscode-symbolIcon-classForeground': '#d67e00',
        '--vscode-symbolIcon-variableForeground': '#007acc',
        '--vscode-symbolIcon-keywordForeground': '#3b3b3b',
        '--vscode-symbolIcon-fileForeground': '#3b3b3b',
      },
    },
    hc: {
      bodyClass: 'vscode-high-contrast',
      vars: {
        '--vscode-foreground': '#ffffff',
        '--vscode-editor-foreground': '#ffffff',
        '--vscode-editor-background': '#000000',
        '--vscode-sideBar-background': '#000000',
        '--vscode-descriptionForeground': 'rgba(255, 255, 255, 0.7)',
        '--vscode-disabledForeground': '#a5a5a5',
        '--vscode-errorForeground': '#f48771',
        '--vscode-focusBorder': '#f38518',
        '--vscode-contrastBorder': '#6fc3df',
        '--vscode-contrastActiveBorder': '#f38518',
        '--vscode-widget-border': '#6fc3df',
        '--vscode-widget-shadow': 'transparent',
        '--vscode-panel-border': '#6fc3df',
        '--vscode-icon-foreground': '#ffffff',
        '--vscode-button-background': '#000000',
        '--vscode-button-foreground': '#ffffff',
        '--vscode-button-border': '#6fc3df',
        '--vscode-button-secondaryForeground': '#ffffff',
        '--vscode-badge-background': '#000000',
        '--vscode-badge-foreground': '#ffffff',
        '--vscode-input-background': '#000000',
        '--vscode-input-foreground': '#ffffff',
        '--vscode-input-border': '#6fc3df',
        '--vscode-input-placeholderForeground': 'rgba(255, 255, 255, 0.7)',
        '--vscode-inputValidation-infoBackground': '#000000',
        '--vscode-inputValidation-infoBorder': '#6fc3df',
        '--vscode-inputValidation-warningBackground': '#000000',
        '--vscode-inputValidation-warningBorder': '#6fc3df',
        '--vscode-inputValidation-errorBackground': '#000000',
        '--vscode-inputValidation-errorBorder': '#6fc3df',
        '--vscode-editorWidget-background': '#0c141f',
        '--vscode-editorGroupHeader-tabsBackground': '#000000',
        '--vscode-editorLineNumber-foreground': '#ffffff',
        '--vscode-editorInfo-foreground': '#3794ff',
        '--vscode-editorWarning-foreground': '#ffd370',
        '--vscode-editorError-foreground': '#ff3232',
        '--vscode-testing-iconPassed': '#73c991',
        '--vscode-textLink-foreground': '#21a6ff',
        '--vscode-textLink-activeForeground': '#21a6ff',
        '--vscode-textCodeBlock-background': '#000000',
        '--vscode-textPreformat-foreground': '#ffffff',
        '--vscode-textPreformat-background': '#000000',
        '--vscode-textBlockQuote-background': '#000000',
        '--vscode-textBlockQuote-border': '#ffffff',
        '--vscode-sideBarSectionHeader-foreground': '#ffffff',
        '--vscode-scrollbarSlider-background': 'rgba(111, 195, 223, 0.6)',
        '--vscode-scrollbarSlider-hoverBackground': 'rgba(111, 195, 223, 0.8)',
        '--vscode-scrollbarSlider-activeBackground': '#6fc3df',
        '--vscode-charts-blue': '#3794ff',
        '--vscode-charts-green': '#89d185',
        '--vscode-charts-orange': '#d18616',
        '--vscode-charts-purple': '#b180d7',
        '--vscode-charts-red': '#f14c4c',
        '--vscode-charts-yellow': '#cca700',
        '--vscode-debugTokenExpression-name': '#ffffff',
        '--vscode-debugTokenExpression-value': '#ffffff',
        '--vscode-debugTokenExpression-string': '#f48771',
        '--vscode-debugTokenExpression-boolean': '#75bdfe',
        '--vscode-debugTokenExpression-number': '#89d185',
        '--vscode-debugTokenExpression-error': '#f48771',
        '--vscode-symbolIcon-functionForeground': '#b180d7',
        '--vscode-symbolIcon-classForeground': '#ee9d28',
        '--vscode-symbolIcon-variableForeground': '#75beff',
        '--vscode-symbolIcon-keywordForeground': '#ffffff',
        '--vscode-symbolIcon-fileForeground': '#ffffff',
      },
    },
  };

  const t = themes[theme] || themes.dark;
  const root = document.documentElement;
  // VS Code sets these as inline styles on <html>; CSSOM writes are allowed by the CSP.
  for (const [k, v] of Object.entries({ ...common, ...t.vars })) root.style.setProperty(k, v);
  root.style.background = t.vars['--vscode-editor-background'];
  document.body.classList.add(t.bodyClass);
  if (theme === 'hc') document.body.classList.add('vscode-high-contrast');
  document.body.dataset.vscodeThemeKind = t.bodyClass;

  // Everything that would execute if sanitisation failed sets this; tests assert it stays undefined.
  window.__pwned = undefined;
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__cspViolations.push({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample });
  });

  window.__posted = [];
  const KEY = '__vscodeState';
  let acquired = false;
  window.acquireVsCodeApi = function () {
    if (acquired) throw new Error('An instance of the VS Code API has already been acquired');
    acquired = true;
    return Object.freeze({
      postMessage(m) {
        // structuredClone, as VS Code posts: a Uint8Array stays one (dropped files), like the real thing.
        window.__posted.push(structuredClone(m));
      },
      getState() {
        const raw = sessionStorage.getItem(KEY);
        return raw === null ? undefined : JSON.parse(raw);
      },
      setState(s) {
        sessionStorage.setItem(KEY, JSON.stringify(s));
        return s;
      },
    });
  };
  /** Host → webview: a 'message' event like VS Code's, dispatched synchronously so tests need no waits. */
  window.__host = function (msg) {
    window.dispatchEvent(new MessageEvent('message', { data: msg, origin: location.origin }));
  };
})();
