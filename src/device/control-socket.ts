/**
 * The daemon's local control socket: `<state dir>/control.sock`, a Unix socket only the
 * daemon's owner can open (mode 0600 inside a 0700 directory). `lancam-device pair-window` uses
 * it. It doubles as a lock: a second daemon on the same state directory refuses to start.
 *
 * Protocol: one JSON line each way. {"command":"pair-window","seconds":120} -> {"ok":true,...}
 */
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { MAX_WINDOW_SECONDS } from './pairing/pairing-window';

export const CONTROL_SOCKET_NAME = 'control.sock';

const commandSchema = z.discriminatedUnion('command', [
  z.strictObject({ command: z.literal('pair-window'), seconds: z.number().int().min(1).max(MAX_WINDOW_SECONDS) }),
  z.strictObject({ command: z.literal('status') }),
  z.strictObject({ command: z.literal('unpair-last') }),
]);
export type ControlCommand = z.infer<typeof commandSchema>;
export type ControlAnswer = { ok: true; [key: string]: unknown } | { ok: false; error: string };

export class ControlSocketError extends Error {
  override name = 'ControlSocketError';
}

export function controlSocketPath(stateDir: string): string {
  return path.join(path.resolve(stateDir), CONTROL_SOCKET_NAME);
}

export class ControlServer {
  private constructor(
    private readonly server: net.Server,
    readonly path: string,
  ) {}

  static async listen(stateDir: string, handle: (command: ControlCommand) => ControlAnswer | Promise<ControlAnswer>): Promise<ControlServer> {
    const file = controlSocketPath(stateDir);
    if (Buffer.byteLength(file) > 100) throw new ControlSocketError(`the state directory path is too long for a control socket (${file})`);
    // A socket file left by a daemon that died: remove it; one that answers: refuse to start.
    if (await isAlive(file)) throw new ControlSocketError(`another lancam-device is running with the state directory ${path.dirname(file)}`);
    await fs.rm(file, { force: true });
    const server = net.createServer((socket) => serve(socket, handle));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const oldMask = process.umask(0o177);
      server.listen(file, () => {
        process.umask(oldMask);
        server.off('error', reject);
        resolve();
      });
    });
    await fs.chmod(file, 0o600);
    return new ControlServer(server, file);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await fs.rm(this.path, { force: true });
  }
}

function serve(socket: net.Socket, handle: (command: ControlCommand) => ControlAnswer | Promise<ControlAnswer>): void {
  socket.setTimeout(5000, () => socket.destroy());
  let buffer = '';
  let answered = false;
  socket.on('data', (chunk: Buffer) => {
    if (answered) return;
    buffer += chunk.toString('utf8');
    if (buffer.length > 4096) return void socket.destroy();
    const newline = buffer.indexOf('\n');
    if (newline < 0) return;
    answered = true;
    const answer = (async (): Promise<ControlAnswer> => {
      try {
        const parsed = commandSchema.safeParse(JSON.parse(buffer.slice(0, newline)));
        return parsed.success ? await handle(parsed.data) : { ok: false, error: `bad command: ${parsed.error.issues[0]?.message ?? ''}` };
      } catch (err) {
        return { ok: false, error: err instanceof SyntaxError ? 'bad command: not JSON' : (err as Error).message };
      }
    })();
    void answer.then((a) => socket.end(`${JSON.stringify(a)}\n`));
  });
  socket.on('error', () => undefined);
}

function isAlive(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(file);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Sends one command to the daemon running on `stateDir`. */
export function sendControlCommand(stateDir: string, command: ControlCommand, timeoutMs = 5000): Promise<ControlAnswer> {
  const file = controlSocketPath(stateDir);
  return new Promise((resolve, reject) => {
    const socket = net.connect(file);
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ControlSocketError('the daemon did not answer in time'));
    }, timeoutMs);
    socket.once('connect', () => socket.write(`${JSON.stringify(command)}\n`));
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
    socket.once('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(data) as ControlAnswer);
      } catch {
        reject(new ControlSocketError('the daemon sent a malformed answer'));
      }
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new ControlSocketError(`no lancam-device is running with the state directory ${path.dirname(file)}`));
      else if (err.code === 'EACCES') reject(new ControlSocketError(`not allowed to reach the daemon (${file} belongs to another user)`));
      else reject(new ControlSocketError(`cannot reach the daemon: ${err.message}`));
    });
  });
}
