/**
 * Electron's IPC between a renderer (ipcRenderer, in the preload) and main (ipcMain), as Electron
 * 45 does it (docs: api/ipc-main.md, api/ipc-renderer.md, tutorial/ipc.md "Object serialization"):
 *
 * - every argument and every return value crosses by the HTML structured-clone algorithm: functions,
 *   symbols and class instances with methods do not survive (functions throw "An object could not
 *   be cloned."), prototypes are lost, Errors keep only name and message;
 * - `ipcMain.handle` allows one handler per channel ("Attempted to register a second handler for
 *   'x'"); `ipcRenderer.invoke` on a channel without one rejects with "No handler registered for
 *   'x'", and a handler that throws rejects the renderer's promise with "Error invoking remote
 *   method 'x': Error: <message>" (nothing but the message survives);
 * - the handler's event carries `sender` (the WebContents that sent it), `senderFrame` (its
 *   WebFrameMain: `url`, `parent` null for the main frame), `processId` and `frameId`;
 * - `webContents.send(channel, ...args)` reaches that renderer's `ipcRenderer.on` listeners as
 *   `(event, ...args)`, the args structured-cloned.
 */
import { EventEmitter } from 'node:events';

export interface FrameStandIn {
  url: string;
  parent: FrameStandIn | null;
  processId: number;
  routingId: number;
}

export interface WebContentsLike {
  id: number;
  /** Delivers main's `webContents.send` to this renderer's ipcRenderer. */
  deliver?: (channel: string, args: unknown[]) => void;
}

export interface IpcMainInvokeEventStandIn {
  sender: WebContentsLike;
  senderFrame: FrameStandIn | null;
  processId: number;
  frameId: number;
}

type Handler = (event: IpcMainInvokeEventStandIn, ...args: unknown[]) => unknown;

/** Node's structuredClone is the same algorithm (HTML spec); Electron's message is this one. */
export function ipcClone<T>(value: T): T {
  try {
    return structuredClone(value);
  } catch {
    throw new Error('An object could not be cloned.');
  }
}

export class IpcMainStandIn extends EventEmitter {
  private readonly handlers = new Map<string, Handler>();

  handle(channel: string, handler: Handler): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, handler);
  }

  handleOnce(channel: string, handler: Handler): void {
    this.handle(channel, (event, ...args) => {
      this.removeHandler(channel);
      return handler(event, ...args);
    });
  }

  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }

  channels(): string[] {
    return [...this.handlers.keys()];
  }

  /** What Electron does with one `ipcRenderer.invoke` from `sender`/`frame`. */
  async invokeFrom(sender: WebContentsLike, frame: FrameStandIn | null, channel: string, args: unknown[]): Promise<unknown> {
    const cloned = ipcClone(args);
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`No handler registered for '${channel}'`);
    let result: unknown;
    try {
      // senderFrame is null once the frame has navigated away or been destroyed (Electron docs).
      result = await handler({ sender, senderFrame: frame, processId: frame?.processId ?? -1, frameId: frame?.routingId ?? -1 }, ...cloned);
    } catch (err) {
      // eslint-disable-next-line preserve-caught-error -- Electron sends the renderer only this message, no cause
      throw new Error(`Error invoking remote method '${channel}': ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    }
    return ipcClone(result);
  }
}

/** The sandboxed preload's `ipcRenderer`, for one renderer (webContents + frame). */
export function createIpcRenderer(ipcMain: IpcMainStandIn, sender: WebContentsLike, frame: () => FrameStandIn): EventEmitter & { invoke(channel: string, ...args: unknown[]): Promise<unknown>; send(channel: string, ...args: unknown[]): void } {
  const renderer = new EventEmitter() as EventEmitter & { invoke(channel: string, ...args: unknown[]): Promise<unknown>; send(channel: string, ...args: unknown[]): void };
  renderer.invoke = (channel, ...args) => ipcMain.invokeFrom(sender, frame(), channel, args);
  renderer.send = (channel, ...args) => {
    const cloned = ipcClone(args);
    ipcMain.emit(channel, { sender, senderFrame: frame(), processId: frame().processId, frameId: frame().routingId }, ...cloned);
  };
  sender.deliver = (channel, args) => {
    const cloned = ipcClone(args);
    renderer.emit(channel, { sender: renderer, senderId: 0, ports: [] }, ...cloned);
  };
  return renderer;
}
