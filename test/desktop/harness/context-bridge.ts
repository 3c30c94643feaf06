/**
 * contextBridge's copy semantics between the preload's isolated world and the page's main world,
 * as Electron 45 documents them (docs: api/context-bridge.md, "Parameter / Error / Return Type
 * support"):
 *
 * - strings, numbers, booleans, null, undefined: copied;
 * - objects and arrays: copied key by key (string keys only), values by these same rules;
 *   "prototype modifications are dropped", so a class instance arrives as a plain object;
 * - functions: proxied; their arguments are copied into the function's world and their return
 *   values back; classes and constructors do not work;
 * - promises: proxied only as a return value or an exact parameter; nested in an object or array
 *   they are dropped;
 * - errors: copied, "any custom properties set on the Error object will be lost": only the message
 *   survives (the error is rebuilt as the other world's Error);
 * - symbols: "cannot be copied across contexts so they are dropped";
 * - other structured-cloneable values (Date, RegExp, Map, Set, ArrayBuffer, typed arrays): cloned.
 *
 * Each world is a separate JS realm (the preload runs in its own `vm` context), so `instanceof`
 * across worlds fails exactly as it does in Electron.
 */
export interface Realm {
  Object: ObjectConstructor;
  Array: ArrayConstructor;
  Error: ErrorConstructor;
  Promise: PromiseConstructor;
}

export const HOST_REALM: Realm = { Object, Array, Error, Promise };

type Direction = { from: Realm; to: Realm };

function isCloneableBuiltin(value: object): boolean {
  const tag = Object.prototype.toString.call(value);
  return ['[object Date]', '[object RegExp]', '[object Map]', '[object Set]', '[object ArrayBuffer]', '[object DataView]'].includes(tag) || ArrayBuffer.isView(value);
}

function isError(value: unknown): value is { message: unknown } {
  return Object.prototype.toString.call(value) === '[object Error]';
}

function isPromise(value: unknown): value is PromiseLike<unknown> {
  return Object.prototype.toString.call(value) === '[object Promise]';
}

/** Copies `value` from one world into the other. `top` is true for an exact parameter or return value. */
export function bridgeCopy(value: unknown, dir: Direction, top = true, depth = 0): unknown {
  if (depth > 1000) throw new dir.to.Error('An object could not be cloned.');
  if (value === null || value === undefined) return value;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return value;
    case 'symbol':
      return undefined;
    case 'function':
      return proxyFunction(value as (...args: unknown[]) => unknown, dir);
    default:
      break;
  }
  if (isPromise(value)) {
    if (!top) return undefined;
    return new dir.to.Promise((resolve, reject) => {
      (value as Promise<unknown>).then(
        (v) => resolve(bridgeCopy(v, dir, true, depth + 1)),
        (e) => reject(isError(e) ? new dir.to.Error(String(e.message)) : bridgeCopy(e, dir, true, depth + 1)),
      );
    });
  }
  if (isError(value)) return new dir.to.Error(String(value.message));
  if (isCloneableBuiltin(value as object)) return structuredClone(value);
  if (Array.isArray(value)) {
    const out = new dir.to.Array();
    for (const item of value) out.push(bridgeCopy(item, dir, false, depth + 1));
    return out;
  }
  const out = new dir.to.Object() as Record<string, unknown>;
  for (const key of Object.keys(value as object)) out[key] = bridgeCopy((value as Record<string, unknown>)[key], dir, false, depth + 1);
  return out;
}

function proxyFunction(fn: (...args: unknown[]) => unknown, dir: Direction): (...args: unknown[]) => unknown {
  const back: Direction = { from: dir.to, to: dir.from };
  return function proxied(...args: unknown[]) {
    let result: unknown;
    try {
      result = fn(...args.map((a) => bridgeCopy(a, back, true)));
    } catch (err) {
      throw isError(err) ? new dir.to.Error(String(err.message)) : bridgeCopy(err, dir, true);
    }
    return bridgeCopy(result, dir, true);
  };
}

/** `contextBridge` for one preload: exposeInMainWorld copies into `mainWorld` (the page's window). */
export function createContextBridge(isolated: Realm, mainWorld: Record<string, unknown>, main: Realm = HOST_REALM) {
  return {
    exposeInMainWorld(apiKey: string, api: unknown): void {
      if (typeof apiKey !== 'string') throw new isolated.Error('apiKey must be a string');
      if (Object.prototype.hasOwnProperty.call(mainWorld, apiKey)) throw new isolated.Error(`Cannot bind an API on top of an existing property on the window object`);
      mainWorld[apiKey] = bridgeCopy(api, { from: isolated, to: main });
    },
    exposeInIsolatedWorld(): void {
      throw new isolated.Error('exposeInIsolatedWorld is not reproduced by this harness');
    },
  };
}
