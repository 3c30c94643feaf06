/**
 * GStreamer's RTSP server (test/helpers/video-rtsp-server.py) as a camera for tests: /cam and
 * /main (WIDTHxHEIGHT), /cam-aac, /cam-opus and /cam-pcma (with sound), optionally /sub (a
 * smaller second stream), with a chosen GOP. Binds
 * 127.0.0.1 (inside a namespace when `wrap` is given). Killed by cleanupAll.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { onCleanup, REPO } from './processes';

export interface RtspCamera {
  /** rtsp://127.0.0.1:PORT, for the other mounts. */
  base: string;
  cam: string;
  main: string;
  sub: string;
  pid: number;
}

export async function startRtspCamera(options: { width: number; height: number; fps: number; gopSeconds?: number; sub?: { width: number; height: number }; wrap?: string[] }): Promise<RtspCamera> {
  const { width, height, fps, gopSeconds = 1, sub, wrap = [] } = options;
  const args = [path.join(REPO, 'test/helpers/video-rtsp-server.py'), '0', String(width), String(height), String(fps), String(gopSeconds), ...(sub ? [String(sub.width), String(sub.height)] : [])];
  const command = wrap.length ? wrap[0]! : '/usr/bin/python3';
  const child = spawn(command, wrap.length ? [...wrap.slice(1), '/usr/bin/python3', ...args] : args, { stdio: ['ignore', 'pipe', 'pipe'] });
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the RTSP server did not start: ${err}`)), 15_000);
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', () => reject(new Error(`the RTSP server exited: ${err}`)));
  });
  const base = `rtsp://127.0.0.1:${port}`;
  return { base, cam: `${base}/cam`, main: `${base}/main`, sub: `${base}/sub`, pid: child.pid! };
}
