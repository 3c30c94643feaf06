/**
 * "Show in folder" for `lancam ui`: opens the folder holding a snapshot in the desktop's file
 * manager (`xdg-open`, `open` on macOS, `explorer` on Windows), only when there is a desktop
 * session to show it in. The Electron app uses shell.showItemInFolder instead (src/main/shell.ts).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

export async function openFolderOnDesktop(file: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Promise<boolean> {
  const folder = path.dirname(file);
  let command: [string, string[]];
  if (platform === 'darwin') command = ['open', ['-R', file]];
  else if (platform === 'win32') command = ['explorer', [`/select,${file}`]];
  else if (env.DISPLAY || env.WAYLAND_DISPLAY) command = ['xdg-open', [folder]];
  else return false;
  return new Promise((resolve) => {
    const child = spawn(command[0], command[1], { stdio: 'ignore', detached: true });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}
