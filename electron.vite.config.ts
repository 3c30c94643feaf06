import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';

// Three builds: Electron main (Node, ESM), the preload (CommonJS: sandboxed preloads cannot be
// modules) and the React renderer (served from the app:// protocol in Electron, and from
// 127.0.0.1 by `lancam ui`).
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: { input: resolve('src/main/index.ts'), external: ['@roamhq/wrtc'] },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: { input: resolve('src/preload/index.ts'), output: { format: 'cjs', entryFileNames: '[name].cjs' } },
    },
  },
  renderer: {
    root: resolve('src/renderer'),
    base: './',
    build: {
      outDir: resolve('out/renderer'),
      emptyOutDir: true,
      minify: true,
      rollupOptions: { input: resolve('src/renderer/index.html') },
    },
  },
});
