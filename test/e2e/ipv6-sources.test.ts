/**
 * Issue 10 item 7, IPv6: a LAN neighbour with IPv6 has a whole /64 of source addresses, so a
 * per-address connection cap would be no cap at all. Inside a test-owned network namespace (only
 * `lo`, with addresses of two /64s added to it), a real lancam-device listens on IPv6 and unknown
 * keys connect from several addresses of one /64 and from one address of another. The camera must
 * count the first /64 as one source: at most --max-connections-per-address channels stay open from
 * it, however many of its addresses are used, while the other /64 keeps its own share. On a
 * per-address count, the first /64 would hold 3 x 3 = 9 channels.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createNetns, netnsUnavailable } from '../helpers/netns';
import { REPO, cleanupAll, startDevice, tempDir } from '../helpers/processes';

const run = promisify(execFile);
const unavailable = await netnsUnavailable();
const CAP = 3;

afterAll(cleanupAll, 30_000);

describe.skipIf(unavailable !== undefined)(`IPv6 sources are counted by /64${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('several addresses of one /64 share one per-source cap; another /64 has its own', async () => {
    const ns = await createNetns();
    const addresses = ['fd00:a::1', 'fd00:a::10', 'fd00:a::11', 'fd00:a::12', 'fd00:b::20'];
    for (const address of addresses) await run('ip', ['netns', 'exec', ns.name, 'ip', '-6', 'addr', 'add', `${address}/64`, 'dev', 'lo', 'nodad']);

    const device = await startDevice({
      wrap: ns.wrap,
      host: 'fd00:a::1',
      mdns: false,
      args: ['--max-connections-per-address', String(CAP), '--new-connections-per-second', '0'],
    });

    const dir = await tempDir('lancam-ipv6-');
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=squatter']);

    const script = path.join(REPO, 'test/helpers/ipv6-squatters.mjs');
    const { stdout } = await run('ip', ['netns', 'exec', ns.name, process.execPath, script, 'fd00:a::1', String(device.port), '1500', cert, key, 'fd00:a::10:3', 'fd00:a::11:3', 'fd00:a::12:3', 'fd00:b::20:3'], {
      cwd: REPO,
      timeout: 60_000,
    });
    const open = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, number>;
    const sameSlash64 = (open['fd00:a::10'] ?? 0) + (open['fd00:a::11'] ?? 0) + (open['fd00:a::12'] ?? 0);
    console.log(`ipv6 squatters still open: ${JSON.stringify(open)} (one /64: ${sameSlash64})`);
    // The whole /64 is one source: never more than the cap, and it is not emptied either.
    expect(sameSlash64).toBeLessThanOrEqual(CAP);
    expect(sameSlash64).toBeGreaterThan(0);
    // The other /64 is not charged for the first one's connections.
    expect(open['fd00:b::20']).toBe(CAP);
    // The camera said why it cut the first /64's extra connections, naming the /64.
    expect(device.stdout() + device.stderr()).toContain('fd00000a00000000::/64');
  }, 90_000);
});
