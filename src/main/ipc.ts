/**
 * IPC: one handler per LancamApi method. Every call's sender must be our window's main frame on
 * app://lancam, and its arguments must pass the method's schema, before the companion sees them.
 */
import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { API_ARGUMENTS, API_EVENTS, API_METHODS, type ApiMethod } from '../shared/ui/api';
import { IPC_EVENT_PREFIX, IPC_METHOD_PREFIX, type IpcReply } from '../shared/ui/ipc';
import type { AppService } from '../companion/app/app-service';
import { isAppUrl } from './security';

export function registerIpc(app: AppService, trusted: () => WebContents | undefined): () => void {
  for (const method of API_METHODS) {
    ipcMain.handle(`${IPC_METHOD_PREFIX}${method}`, (event, ...args: unknown[]) => handle(app, trusted, method, event, args));
  }
  const offs = API_EVENTS.map((event) => {
    const forward = (data: unknown) => trusted()?.send(`${IPC_EVENT_PREFIX}${event}`, data);
    app.on(event, forward);
    return () => app.off(event, forward);
  });
  return () => {
    for (const method of API_METHODS) ipcMain.removeHandler(`${IPC_METHOD_PREFIX}${method}`);
    for (const off of offs) off();
  };
}

async function handle(app: AppService, trusted: () => WebContents | undefined, method: ApiMethod, event: IpcMainInvokeEvent, args: unknown[]): Promise<IpcReply> {
  const frame = event.senderFrame;
  if (event.sender !== trusted() || !frame || frame.parent !== null || !isAppUrl(frame.url)) {
    return { ok: false, error: { status: 403, message: 'this window may not use the lancam API' } };
  }
  const parsed = API_ARGUMENTS[method].safeParse(args);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, error: { status: 400, message: `invalid arguments to ${method}${issue?.path.length ? ` (${issue.path.join('.')})` : ''}: ${issue?.message ?? ''}` } };
  }
  try {
    const fn = app[method] as (...a: unknown[]) => Promise<unknown>;
    return { ok: true, result: (await fn.apply(app, parsed.data as unknown[])) ?? null };
  } catch (err) {
    // Plain data only (contextBridge would strip an Error's class and properties), shaped as
    // `lancam ui`'s bridge shapes it, so both paths show the same message.
    const raw = (err as { status?: unknown } | null)?.status;
    const status = typeof raw === 'number' || typeof raw === 'string' ? raw : 'error';
    return { ok: false, error: { status, message: err instanceof Error ? err.message : String(err) } };
  }
}
