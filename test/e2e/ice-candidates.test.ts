/**
 * Issue 10 item 11: the camera sends UDP wherever a viewer asks. In test-owned namespaces only:
 * the camera's namespace is linked to a "victim" namespace that holds a LAN address (10.99.0.2)
 * and a public-looking third-party address (198.51.100.7, TEST-NET-2), each with a UDP listener.
 * A Guest names both as ICE candidates (in the SDP answer and trickled). On the old code the
 * camera sent STUN checks to both; now the third party gets nothing, the LAN address still gets
 * checks (so the listener would see them), and the camera logs the refusal.
 */
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createNetns, netnsUnavailable } from '../helpers/netns';
import { cleanupAll, nodeCommand, onCleanup, REPO, startDevice } from '../helpers/processes';
import { link } from '../helpers/topology';

const run = promisify(execFile);
const unavailable = await netnsUnavailable();
afterAll(cleanupAll);

/** A UDP listener in `ns` on each address:port; resolves counts of datagrams per target when stopped. */
function listen(ns: string, targets: string[]): { stop(): Promise<Record<string, number>> } {
  const script = [
    'import socket, select, sys, json',
    `targets = ${JSON.stringify(targets)}`,
    'socks = {}',
    'for t in targets:',
    '    h, p = t.rsplit(":", 1); s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((h, int(p))); socks[s] = t',
    'counts = {t: 0 for t in targets}',
    'print("ready", flush=True)',
    'while True:',
    '    r, _, _ = select.select(list(socks) + [sys.stdin], [], [], 0.5)',
    '    for s in r:',
    '        if s is sys.stdin:',
    '            print(json.dumps(counts), flush=True); sys.exit(0)',
    '        s.recvfrom(65535); counts[socks[s]] += 1',
  ].join('\n');
  const child = spawn('ip', ['netns', 'exec', ns, '/usr/bin/python3', '-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  onCleanup(async () => void child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return {
    stop: async () => {
      child.stdin.write('x\n');
      await new Promise((r) => child.once('exit', r));
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) throw new Error(`listener said: ${out}`);
      return JSON.parse(line) as Record<string, number>;
    },
  };
}

describe.skipIf(unavailable !== undefined)(`remote ICE candidates (item 11)${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('a Guest cannot make the camera send STUN to a third-party address; LAN candidates still get checks', async () => {
    const [camera, victim] = await Promise.all([createNetns(), createNetns()]);
    await link(camera, '10.99.0.1', victim, '10.99.0.2');
    await run('ip', ['-n', victim.name, 'addr', 'add', '198.51.100.7/32', 'dev', 'lo']);
    await run('ip', ['-n', camera.name, 'route', 'add', '198.51.100.7/32', 'via', '10.99.0.2']);
    const third = ['198.51.100.7:40000', '198.51.100.7:40002'];
    const lan = '10.99.0.2:40001';
    const listener = listen(victim.name, [...third, lan]);
    await new Promise((r) => setTimeout(r, 500));

    // Default ICE settings (no --ice-address): the camera gathers on its namespace's interfaces.
    const device = await startDevice({ mdns: false, wrap: camera.wrap, args: ['--size', '160x120', '--fps', '10'] });
    const script = path.join(REPO, 'test/e2e/fixtures/ice-attack-client.ts');
    const [command, args] = nodeCommand('--import', ['tsx', script, String(device.port), third[0]!, lan, third[1]!], camera.wrap);
    const attack = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(command, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      onCleanup(async () => void child.kill('SIGKILL'));
      child.once('exit', (code) => resolve({ code, out }));
    });
    const counts = await listener.stop();
    expect(attack.code, attack.out).toBe(0);
    // Refused candidates are accepted on the wire (204) but never reach the WebRTC stack.
    expect(JSON.parse(attack.out.trim().split('\n').at(-1)!)).toMatchObject({ ok: true, statuses: [204, 204, 204] });
    expect(counts[lan]).toBeGreaterThan(0);
    expect(counts[third[0]!]).toBe(0);
    expect(counts[third[1]!]).toBe(0);
    expect(device.stderr()).toMatch(/remote candidate refused: address 198\.51\.100\.7 is neither the viewer's own, private, link-local nor a TURN server/);
  }, 60_000);
});
