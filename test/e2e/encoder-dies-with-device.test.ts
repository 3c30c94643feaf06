/**
 * The device's H.264 encoder (x264-encoder.py, a Python + GStreamer process) must not outlive the
 * device. A device killed outright (SIGKILL, the OOM killer) sends its children nothing, and an
 * encoder blocked inside GStreamer does not notice its stdin closing: one was seen still running
 * 48 minutes after its device was gone. The encoder asks Linux to kill it with its parent
 * (PR_SET_PDEATHSIG). Real processes: a real device, a real viewer, then SIGKILL.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll } from '../helpers/processes';
import { adminOf } from '../helpers/raw-client';
import { cleanupVideo, openViewer, pairedClient, sleep, startVideoDevice } from '../helpers/video';

const run = promisify(execFile);

afterEach(async () => {
  await cleanupVideo();
  await cleanupAll();
});

/** The x264-encoder.py process below the device (its child, or a grandchild through a launcher). */
async function encoderOf(devicePid: number): Promise<number | undefined> {
  const { stdout } = await run('ps', ['-eo', 'pid,ppid,args']).catch(() => ({ stdout: '' }));
  const parent = new Map<number, number>();
  const encoders: number[] = [];
  for (const line of stdout.split('\n').slice(1)) {
    const [pid, ppid, ...args] = line.trim().split(/\s+/);
    parent.set(Number(pid), Number(ppid));
    if (args.join(' ').includes('x264-encoder.py')) encoders.push(Number(pid));
  }
  return encoders.find((pid) => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === devicePid) return true;
    return false;
  });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the encoder dies with its device', () => {
  it('a SIGKILLed device leaves no encoder behind', async () => {
    const device = await startVideoDevice({ size: '320x240', args: ['--video-stack', 'h264', '--no-audio'] });
    const admin = await adminOf(device);
    const client = await pairedClient(device, admin, 'kim', 'Guest');
    const { frameTimes } = await openViewer(await client.open());
    const t0 = performance.now();
    while (frameTimes.length < 3 && performance.now() - t0 < 20_000) await sleep(100);
    expect(frameTimes.length).toBeGreaterThanOrEqual(3);
    const encoder = await encoderOf(device.process.pid!);
    expect(encoder, 'the device runs one x264-encoder.py while watched').toBeDefined();

    // An encoder that cannot notice its stdin closing (as the one blocked inside GStreamer):
    // stopped, it reads nothing until it is continued; only a kill reaches it.
    process.kill(encoder!, 'SIGSTOP');
    try {
      await device.stop('SIGKILL');
      const t1 = performance.now();
      while (alive(encoder!) && performance.now() - t1 < 5000) await sleep(100);
      expect(alive(encoder!)).toBe(false);
    } finally {
      if (alive(encoder!)) process.kill(encoder!, 'SIGKILL');
    }
  }, 60_000);
});
