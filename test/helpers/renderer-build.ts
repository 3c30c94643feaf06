/** Builds the renderer (src/renderer, the same input electron-vite uses) into a fresh directory. */
import path from 'node:path';
import { REPO } from './processes';

export async function buildRenderer(outDir: string): Promise<void> {
  const { build } = await import('vite');
  await build({
    configFile: false,
    root: path.join(REPO, 'src/renderer'),
    base: './',
    logLevel: 'error',
    build: { outDir, emptyOutDir: true, reportCompressedSize: false, rollupOptions: { input: path.join(REPO, 'src/renderer/index.html') } },
  });
}
