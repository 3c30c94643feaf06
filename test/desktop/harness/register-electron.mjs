// Node module hook for the desktop harness: `electron` resolves to the recording stand-in, so the
// built out/main bundle runs unmodified in Node. Used as `node --import tsx --import <this> ...`.
import { register } from 'node:module';

register('./electron-resolve-hook.mjs', import.meta.url);
