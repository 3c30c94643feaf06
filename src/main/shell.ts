/**
 * "Show in folder" in the desktop app: Electron's shell.showItemInFolder. AppService has already
 * checked that the file is a snapshot it saved (showSnapshotInFolder), so nothing the renderer
 * names reaches the file manager unless it is one of those.
 */
import { shell } from 'electron';

export async function showItemInFolder(file: string): Promise<boolean> {
  shell.showItemInFolder(file);
  return true;
}
