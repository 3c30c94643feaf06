/**
 * Snapshots on disk: saved under the user's Pictures folder (`lancam/`), named after the camera
 * and the time, never overwriting one another; and the list of files this app saved, so "Show in
 * folder" can only ever point at one of them.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** `~/Pictures/lancam` (or `$XDG_PICTURES_DIR/lancam`). The desktop passes Electron's `pictures` path instead. */
export function defaultSnapshotDir(env: NodeJS.ProcessEnv = process.env): string {
  const pictures = env.XDG_PICTURES_DIR && path.isAbsolute(env.XDG_PICTURES_DIR) ? env.XDG_PICTURES_DIR : path.join(os.homedir(), 'Pictures');
  return path.join(pictures, 'lancam');
}

/** "Front door 2026-12-01 10-45-03.png": the camera's name made safe for every file system, then the local time. */
export function snapshotFileName(cameraName: string, at: Date): string {
  const safe =
    cameraName
      .normalize('NFC')
      // Path separators, reserved characters on Windows and control characters go.
      .replace(/[/\\:*?"<>|\p{Cc}]+/gu, ' ')
      .replace(/\s+/g, ' ')
      .replace(/^[\s.]+|[\s.]+$/g, '')
      .slice(0, 80) || 'camera';
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${pad(at.getHours())}-${pad(at.getMinutes())}-${pad(at.getSeconds())}`;
  return `${safe} ${stamp}.png`;
}

export class SnapshotFolder {
  private readonly saved = new Set<string>();

  constructor(readonly dir: string) {}

  /** Writes the PNG (mode 0600) as a new file; a second snapshot in the same second gets " (2)". */
  async save(cameraName: string, png: Buffer, at = new Date()): Promise<string> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const base = snapshotFileName(cameraName, at).replace(/\.png$/, '');
    for (let n = 1; n < 1000; n++) {
      const file = path.join(this.dir, `${base}${n === 1 ? '' : ` (${n})`}.png`);
      try {
        await fs.writeFile(file, png, { mode: 0o600, flag: 'wx' });
        this.saved.add(file);
        return file;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    throw new Error('too many snapshots with the same name');
  }

  /** True only for a file this app saved and that still exists. */
  async isSaved(file: string): Promise<boolean> {
    if (!this.saved.has(file)) return false;
    return fs.stat(file).then(
      (s) => s.isFile(),
      () => false,
    );
  }
}
