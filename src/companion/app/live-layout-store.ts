/**
 * The live grid as the user left it (the cameras open, in their order), in the companion's home
 * (`live-view.json`), so the desktop and `lancam ui` both reopen it. A file that does not parse
 * is reported and kept: the grid then starts empty, and the next change first moves the bad file
 * aside (`live-view.json.bad-<time>`), so nothing in it is lost.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readJsonFile, writeJsonAtomic } from '../../net/atomic-file';
import type { LiveLayoutView } from '../../shared/ui/api';

const layoutFileSchema = z.object({
  version: z.literal(1),
  open: z.array(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/)).max(64),
});

export class LiveLayoutStore {
  readonly file: string;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(homeDir: string) {
    this.file = path.join(homeDir, 'live-view.json');
  }

  async get(): Promise<LiveLayoutView & { problem?: string }> {
    let raw: unknown;
    try {
      raw = await readJsonFile(this.file);
    } catch (err) {
      return { open: [], problem: `${this.file} could not be read: ${(err as Error).message}` };
    }
    if (raw === undefined) return { open: [] };
    const parsed = layoutFileSchema.safeParse(raw);
    if (!parsed.success) return { open: [], problem: `${this.file} is not a live view file: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
    return { open: [...new Set(parsed.data.open)] };
  }

  /** Writes atomically; writes are serialised so the last one wins. */
  set(layout: LiveLayoutView): Promise<void> {
    const open = [...new Set(layout.open)];
    const next = this.queue.then(async () => {
      if ((await this.get()).problem) await fs.rename(this.file, `${this.file}.bad-${Date.now()}`).catch(() => undefined);
      await writeJsonAtomic(this.file, { version: 1, open });
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}
