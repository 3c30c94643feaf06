/**
 * Network namespaces that a test creates for itself: only `lo`, up, and nothing else, so whatever
 * runs inside (Chromium's WebRTC, mDNS, the device) cannot reach any network at all.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { onCleanup } from './processes';

const run = promisify(execFile);

export interface Netns {
  name: string;
  /** Prefix for spawn: ['ip', 'netns', 'exec', name]. */
  wrap: string[];
}

/** Why namespaces cannot be used here, or undefined when they can. */
export async function netnsUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  try {
    await run('ip', ['netns', 'list']);
    return undefined;
  } catch (err) {
    return `ip netns does not work here: ${(err as Error).message}`;
  }
}

/**
 * A new namespace with only `lo`, up. Its cleanup (registered with `register`: the tests'
 * cleanupAll by default, the bench's own list from bench/) kills whatever still runs inside and
 * deletes it.
 */
export async function createNetns(register: (cleanup: () => Promise<void>) => void = onCleanup): Promise<Netns> {
  const name = `lancam-t${randomBytes(4).toString('hex')}`;
  await run('ip', ['netns', 'add', name]);
  register(async () => {
    // Anything still running inside is killed before the namespace goes.
    const { stdout } = await run('ip', ['netns', 'pids', name]).catch(() => ({ stdout: '' }));
    for (const pid of stdout.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await run('ip', ['netns', 'del', name]).catch(() => undefined);
  });
  await run('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  const { stdout } = await run('ip', ['netns', 'exec', name, 'ip', '-o', 'link', 'show']);
  const links = stdout.trim().split('\n').map((l) => l.split(':')[1]?.trim());
  if (links.length !== 1 || links[0] !== 'lo') throw new Error(`namespace ${name} has unexpected interfaces: ${links.join(', ')}`);
  return { name, wrap: ['ip', 'netns', 'exec', name] };
}
