/**
 * What a built bundle loads at run time, and whether its process can load it:
 * - a sandboxed preload (Electron 45, docs tutorial/sandbox.md "Preload scripts") can require only
 *   `electron`, `events`, `timers` and `url`;
 * - Electron main can load Node built-ins, `electron` and pure-JS packages; not `@roamhq/wrtc`, and
 *   no native addon (a `.node` built for Node's ABI does not load in Electron unless rebuilt for it,
 *   docs tutorial/using-native-node-modules.md): every package the bundle imports is followed
 *   through its installed dependencies and optional dependencies, and any with a binding.gyp, a
 *   `.node` file, `gypfile`, or a native loader (node-gyp-build, bindings, prebuild-install,
 *   node-pre-gyp) is reported.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';

export const PRELOAD_ALLOWED = ['electron', 'events', 'timers', 'url'];
const NATIVE_LOADERS = ['node-gyp-build', 'bindings', 'prebuild-install', 'node-pre-gyp', '@mapbox/node-pre-gyp', 'node-gyp-build-optional-packages'];
const FORBIDDEN_IN_MAIN = ['@roamhq/wrtc', 'wrtc'];

/** Module specifiers a bundle loads: require("x"), import ... from "x", import "x", import("x"). */
export function bundleSpecifiers(source: string): string[] {
  const found = new Set<string>();
  const patterns = [/\brequire\(\s*["'`]([^"'`]+)["'`]\s*\)/g, /\bfrom\s*["']([^"']+)["']/g, /\bimport\s*["']([^"']+)["']/g, /\bimport\(\s*["'`]([^"'`]+)["'`]\s*\)/g];
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) found.add(m[1]!);
  return [...found].sort();
}

export function preloadViolations(source: string): string[] {
  return bundleSpecifiers(source).filter((s) => !PRELOAD_ALLOWED.includes(s));
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function isBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || builtinModules.includes(specifier) || builtinModules.includes(specifier.split('/')[0]!);
}

function findPackage(name: string, fromDir: string, root: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === root || dir === path.dirname(dir)) return undefined;
  }
}

function hasNativeFile(dir: string, depth = 0): string | undefined {
  if (depth > 4) return undefined;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    if (entry.isFile() && (entry.name.endsWith('.node') || entry.name === 'binding.gyp')) return full;
    if (entry.isDirectory()) {
      const found = hasNativeFile(full, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

/** Problems with the packages a main bundle loads (empty when every one is loadable by Electron). */
export function mainViolations(source: string, bundleDir: string, root: string): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string, fromDir: string, chain: string[]) => {
    const where = [...chain, name].join(' -> ');
    if (FORBIDDEN_IN_MAIN.includes(name)) problems.push(`${where}: not loadable in Electron main (native WebRTC built for Node)`);
    const dir = findPackage(name, fromDir, root);
    if (!dir) {
      if (chain.length === 0) problems.push(`${where}: not installed`);
      return;
    }
    if (seen.has(dir)) return;
    seen.add(dir);
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { gypfile?: boolean; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    const deps = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})];
    const native = pkg.gypfile ? 'gypfile' : (hasNativeFile(dir) ?? deps.find((d) => NATIVE_LOADERS.includes(d)));
    if (native) problems.push(`${where}: native module (${path.relative(root, native.startsWith('/') ? native : path.join(dir, native))})`);
    for (const dep of deps) visit(dep, dir, [...chain, name]);
  };
  for (const specifier of bundleSpecifiers(source)) {
    if (specifier === 'electron' || isBuiltin(specifier) || specifier.startsWith('.') || specifier.startsWith('/')) continue;
    visit(packageName(specifier), bundleDir, []);
  }
  return problems;
}
