import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { API_EVENTS, API_METHODS } from './src/shared/ui/api';

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
  // The sandboxed preload's `require` loads only electron, events, timers and url: everything else
  // is bundled (externalizeDeps off), and the API's method and event lists are written in as
  // constants, so the preload needs neither zod nor the schemas (test/desktop checks both).
  preload: {
    define: {
      __LANCAM_API_METHODS__: JSON.stringify(API_METHODS),
      __LANCAM_API_EVENTS__: JSON.stringify(API_EVENTS),
    },
    build: {
      outDir: 'out/preload',
      externalizeDeps: false,
      minify: true,
      rollupOptions: { input: resolve('src/preload/index.ts'), external: ['electron'], output: { format: 'cjs', entryFileNames: '[name].cjs' } },
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
