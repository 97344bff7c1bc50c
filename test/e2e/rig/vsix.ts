import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './paths';

const VSCE = path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');

export interface PackageVsixOptions {
  /** An ignore file in .vscodeignore syntax, used when `extensionDir` has no .vscodeignore. */
  fallbackIgnoreFile?: string;
  /**
   * Let vsce add the production dependencies (then filtered by .vscodeignore). Off by default
   * (`--no-dependencies`), which skips node_modules entirely, even files .vscodeignore re-includes.
   */
  dependencies?: boolean;
  timeoutMs?: number;
  /**
   * Passed as --baseContentUrl and --baseImagesUrl: vsce refuses relative links and images in the
   * README unless it can derive a base from a GitHub/GitLab repository URL.
   */
  baseUrl?: string;
}

/**
 * Packages the extension in `extensionDir` into `outFile` with @vscode/vsce (it runs the
 * manifest's vscode:prepublish script first, as a real publish would). Returns `outFile`.
 */
export function packageVsix(extensionDir: string, outFile: string, options: PackageVsixOptions = {}): Promise<string> {
  mkdirSync(path.dirname(outFile), { recursive: true });
  const deps = options.dependencies ? '--dependencies' : '--no-dependencies';
  const args = [VSCE, 'package', deps, '--allow-missing-repository', '--skip-license', '-o', outFile];
  if (!existsSync(path.join(extensionDir, '.vscodeignore')) && options.fallbackIgnoreFile) {
    args.push('--ignoreFile', options.fallbackIgnoreFile);
  }
  if (options.baseUrl) args.push('--baseContentUrl', options.baseUrl, '--baseImagesUrl', options.baseUrl);
  return new Promise((resolve, reject) => {
    // The machine's Node (20) runs vsce 3; its npm lifecycle scripts inherit this PATH.
    execFile(process.execPath, args, { cwd: extensionDir, timeout: options.timeoutMs ?? 180_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`vsce package in ${extensionDir} failed: ${err.message}\n${stdout}${stderr}`));
        return;
      }
      if (!existsSync(outFile) || statSync(outFile).size === 0) {
        reject(new Error(`vsce reported success but ${outFile} is missing:\n${stdout}${stderr}`));
        return;
      }
      resolve(outFile);
    });
  });
}
