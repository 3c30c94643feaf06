/**
 * IAM state durability against a real `lancam-device`:
 *  - SIGKILL in the middle of a burst of ACL changes, again and again on one state directory:
 *    the state file always parses, the daemon always starts again, and every change the device
 *    acknowledged (answered with its success status) is there afterwards.
 *  - Corrupted files (IAM state, IAM config, device.json) stop the daemon with one line naming
 *    the file and the reason, and the file is left byte-identical.
 */
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseIamState, type IamState } from '../../src/shared/iam/schema';
import { cleanupAll, DeviceExitError, startDevice, tempDir, type DeviceProcess } from '../helpers/processes';
import { rawClient, type RawClient } from '../helpers/raw-client';
import type { Identity } from '../../src/net/keys';

afterAll(async () => {
  await cleanupAll();
});

/** Iterations of start / burst / SIGKILL. */
const ITERATIONS = Number(process.env.LANCAM_DURABILITY_ITERATIONS ?? 50);
/** Users created per iteration at most (the state would otherwise grow without bound). */
const USERS_PER_ITERATION = 24;
const ROLES = ['Guest', 'Standard'] as const;

/** What the device acknowledged about one user. */
interface Expectation {
  created: boolean;
  displayName?: string;
  role?: string;
  /** A delete was sent (acknowledged or not): the user may or may not exist. */
  deleteSent: boolean;
  deleted: boolean;
}

function displayNameFor(user: string): string {
  return `Nutzer ${user} ✓`;
}

async function connectAdmin(device: DeviceProcess, identity: Identity): Promise<RawClient> {
  return rawClient(device.port, { identity, expect: device.fingerprint });
}

function readState(file: string): Promise<IamState> {
  return readFile(file, 'utf8').then((text) => parseIamState(JSON.parse(text)));
}

/** Checks every acknowledged change against a state; returns the problems found. */
function problems(state: IamState, model: Map<string, Expectation>, where: string): string[] {
  const found: string[] = [];
  const byName = new Map(state.Users.map((u) => [u.Username, u]));
  for (const [name, e] of model) {
    const user = byName.get(name);
    if (e.deleted) {
      if (user) found.push(`${where}: ${name} was deleted (acknowledged) but is back`);
      continue;
    }
    if (e.deleteSent) continue;
    if (!e.created) continue;
    if (!user) {
      found.push(`${where}: ${name} was created (acknowledged) but is missing`);
      continue;
    }
    if (e.displayName !== undefined && user.DisplayName !== e.displayName) found.push(`${where}: ${name} display name ${JSON.stringify(user.DisplayName)}, acknowledged ${JSON.stringify(e.displayName)}`);
    if (e.role !== undefined && user.Role !== e.role) found.push(`${where}: ${name} role ${JSON.stringify(user.Role)}, acknowledged ${e.role}`);
  }
  return found;
}

describe('SIGKILL during bursts of ACL changes', () => {
  it(`keeps every acknowledged change and always starts again (${ITERATIONS} kills)`, async () => {
    const stateDir = await tempDir('lancam-durability-');
    const stateFile = path.join(stateDir, 'iam_state.json');
    const first = await startDevice({ mdns: false, stateDir });
    const pairing = await rawClient(first.port, { expect: first.fingerprint });
    expect((await pairing.call('POST', '/iam/pairing/local-initial', { FingerprintName: 'durable admin' })).status).toBe(201);
    const adminIdentity = pairing.identity;
    pairing.close();
    await first.stop();

    const model = new Map<string, Expectation>();
    const found: string[] = [];
    let acknowledged = 0;
    let killedWithRequestsInFlight = 0;
    const started = performance.now();

    for (let iter = 0; iter < ITERATIONS; iter++) {
      // Starts every time (a "state invalid" exit rejects here with the daemon's message).
      const device = await startDevice({ mdns: false, stateDir });
      const admin = await connectAdmin(device, adminIdentity);
      // What the restarted daemon serves agrees with the model.
      const listed = await admin.call('GET', '/iam/users');
      expect(listed.status).toBe(205);
      const served = new Set(listed.body as string[]);
      for (const [name, e] of model) {
        if (e.deleted && served.has(name)) found.push(`iteration ${iter}: daemon still lists deleted ${name}`);
        if (e.created && !e.deleteSent && !served.has(name)) found.push(`iteration ${iter}: daemon does not list ${name}`);
      }

      // Users of earlier iterations to delete during this burst.
      const deletable = [...model.entries()].filter(([, e]) => e.created && !e.deleteSent && e.displayName !== undefined && e.role !== undefined).map(([n]) => n);
      const toDelete = deletable.slice(0, 4);

      let alive = true;
      let inFlight = 0;
      const call = async (method: 'POST' | 'PUT' | 'DELETE', p: string, body: unknown, success: number): Promise<boolean> => {
        if (!alive) return false;
        inFlight++;
        try {
          const res = await admin.call(method, p, body);
          if (res.status !== success) found.push(`iteration ${iter}: ${method} ${p} answered ${res.status} ${JSON.stringify(res.body)}`);
          return res.status === success;
        } catch {
          alive = false; // the device was killed: no answer
          return false;
        } finally {
          inFlight--;
        }
      };
      const chain = async (n: number): Promise<void> => {
        const user = `u${iter}-${n}`;
        const e: Expectation = { created: false, deleteSent: false, deleted: false };
        model.set(user, e);
        if (!(await call('POST', '/iam/users', { Username: user }, 201))) return;
        e.created = true;
        acknowledged++;
        const name = displayNameFor(user);
        const role = ROLES[n % 2]!;
        // Display name and role concurrently: two changes to one user in flight at once.
        await Promise.all([
          call('PUT', `/iam/users/${user}/display-name`, name, 204).then((ok) => {
            if (ok) {
              e.displayName = name;
              acknowledged++;
            }
          }),
          call('PUT', `/iam/users/${user}/role`, role, 204).then((ok) => {
            if (ok) {
              e.role = role;
              acknowledged++;
            }
          }),
        ]);
      };
      const remove = async (user: string): Promise<void> => {
        const e = model.get(user)!;
        e.deleteSent = true;
        if (await call('DELETE', `/iam/users/${user}`, undefined, 202)) {
          e.deleted = true;
          acknowledged++;
        }
      };

      const burst = (async () => {
        // Sequential: one user after the other.
        for (let n = 0; n < 4 && alive; n++) await chain(n);
        // Concurrent: several users at once, and the deletes among them.
        let n = 4;
        while (alive && n < USERS_PER_ITERATION) {
          const batch: Promise<void>[] = [];
          for (let k = 0; k < 5 && n < USERS_PER_ITERATION; k++, n++) batch.push(chain(n));
          const victim = toDelete.shift();
          if (victim) batch.push(remove(victim));
          await Promise.all(batch);
        }
      })();
      const delay = Math.floor(Math.random() * 301);
      await new Promise((r) => setTimeout(r, delay));
      if (inFlight > 0) killedWithRequestsInFlight++;
      alive = false;
      // SIGKILL: no shutdown code runs; exited with the signal.
      await device.stop('SIGKILL');
      expect(device.process.signalCode).toBe('SIGKILL');
      await burst;
      admin.close();

      // The file on disk parses, and holds every acknowledged change.
      let state: IamState;
      try {
        state = await readState(stateFile);
      } catch (err) {
        throw new Error(`iteration ${iter} (killed after ${delay} ms): the state file does not load: ${(err as Error).message}`, { cause: err });
      }
      found.push(...problems(state, model, `iteration ${iter} (killed after ${delay} ms)`));
      expect(found).toEqual([]);
    }

    // One last start: everything acknowledged is served by the daemon.
    const last = await startDevice({ mdns: false, stateDir });
    const admin = await connectAdmin(last, adminIdentity);
    expect((await admin.call('GET', '/iam/me')).body).toMatchObject({ Username: 'admin', Role: 'Administrator' });
    const sample = [...model.entries()].filter(([, e]) => e.created && !e.deleteSent).slice(-20);
    for (const [name, e] of sample) {
      const res = await admin.call('GET', `/iam/users/${name}`);
      expect(res.status, name).toBe(205);
      if (e.displayName !== undefined) expect((res.body as { DisplayName?: string }).DisplayName, name).toBe(e.displayName);
      if (e.role !== undefined) expect((res.body as { Role?: string }).Role, name).toBe(e.role);
    }
    admin.close();
    await last.stop();
    expect(found).toEqual([]);
    // The test did exercise something: many acknowledged changes, and kills mid-request.
    expect(acknowledged).toBeGreaterThan(ITERATIONS * 5);
    expect(killedWithRequestsInFlight).toBeGreaterThan(ITERATIONS / 4);
    // Leftover temp files from interrupted writes are the only debris allowed; report their count.
    const debris = (await readdir(stateDir)).filter((f) => f.endsWith('.tmp'));
    console.log(
      `durability: ${ITERATIONS} kills, ${acknowledged} acknowledged changes, ${killedWithRequestsInFlight} kills with requests in flight, ` +
        `${debris.length} temp files left, ${Math.round((performance.now() - started) / 1000)} s`,
    );
  }, 170_000);
});

describe('corrupted files stop the daemon, untouched', () => {
  /** A valid state directory made by one real first run (an admin and a user "bob"), copied for each case. */
  let template: Promise<string> | undefined;

  async function makeTemplate(): Promise<string> {
    const dir = await tempDir('lancam-template-');
    const device = await startDevice({ mdns: false, stateDir: dir });
    const admin = await rawClient(device.port, { expect: device.fingerprint });
    expect((await admin.call('POST', '/iam/pairing/local-initial', {})).status).toBe(201);
    expect((await admin.call('POST', '/iam/users', { Username: 'bob' })).status).toBe(201);
    admin.close();
    await device.stop();
    return dir;
  }

  async function freshStateDir(): Promise<string> {
    template ??= makeTemplate();
    const source = await template;
    const dir = await tempDir('lancam-corrupt-');
    await cp(source, dir, { recursive: true, filter: (src) => !src.endsWith('control.sock') });
    return dir;
  }

  type Corruption = { file: 'iam_state.json' | 'iam_config.json' | 'device.json'; reason: RegExp; corrupt: (text: string) => string };
  const edit = (f: (json: Record<string, unknown>) => void) => (text: string) => {
    const json = JSON.parse(text) as Record<string, unknown>;
    f(json);
    return JSON.stringify(json, null, 2);
  };
  type Users = { Username: string; Role?: string; Fingerprints: { Fingerprint: string }[] }[];
  const CASES: [string, Corruption][] = [
    ['IAM state: truncated JSON', { file: 'iam_state.json', reason: /not valid JSON/, corrupt: (t) => t.slice(0, Math.floor(t.length / 2)) }],
    ['IAM state: a 65-character fingerprint', { file: 'iam_state.json', reason: /Fingerprint.*64 lowercase hex/, corrupt: edit((s) => void ((s.Users as Users)[0]!.Fingerprints[0]!.Fingerprint += 'a')) }],
    ['IAM state: Version 3', { file: 'iam_state.json', reason: /Version.*must be 1 or 2/, corrupt: edit((s) => void (s.Version = 3)) }],
    ['IAM state: a role the config lacks', { file: 'iam_state.json', reason: /role "Superuser" is not defined/, corrupt: edit((s) => void ((s.Users as Users)[1]!.Role = 'Superuser')) }],
    ['IAM state: an upper-case username', { file: 'iam_state.json', reason: /Username/, corrupt: edit((s) => void ((s.Users as Users)[1]!.Username = 'Bob')) }],
    ['IAM state: not an object', { file: 'iam_state.json', reason: /must be a JSON object/, corrupt: () => '[]\n' }],
    ['IAM config: truncated JSON', { file: 'iam_config.json', reason: /not valid JSON/, corrupt: (t) => t.slice(0, t.length - 20) }],
    ['IAM config: Version 2', { file: 'iam_config.json', reason: /Version/, corrupt: edit((c) => void (c.Version = 2)) }],
    ['IAM config: a role with an undefined policy', { file: 'iam_config.json', reason: /policy "Nope" is not defined/, corrupt: edit((c) => void (c.Roles as { Policies: string[] }[])[0]!.Policies.push('Nope')) }],
    ['device.json: truncated JSON', { file: 'device.json', reason: /not valid JSON/, corrupt: (t) => t.slice(0, 10) }],
    ['device.json: an invalid device id', { file: 'device.json', reason: /DeviceId/, corrupt: edit((d) => void (d.DeviceId = 'de id with spaces')) }],
    ['device.json: the device id missing', { file: 'device.json', reason: /DeviceId/, corrupt: edit((d) => void delete d.DeviceId) }],
  ];

  // Independent processes on separate directories: run them side by side.
  it.concurrent.for(CASES)('%s', async ([, { file, reason, corrupt }], { expect }) => {
    const dir = await freshStateDir();
    const target = path.join(dir, file);
    await writeFile(target, corrupt(await readFile(target, 'utf8')));
    const before = await readFile(target);
    const others = await Promise.all(['iam_state.json', 'iam_config.json', 'device.json', 'device.key'].map(async (f) => [f, await readFile(path.join(dir, f))] as const));

    const failure = await startDevice({ mdns: false, stateDir: dir }).then(
      (device) => {
        void device.stop('SIGKILL');
        throw new Error(`lancam-device started on a corrupted ${file}`);
      },
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(DeviceExitError);
    const { code, stderr } = failure as DeviceExitError;
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const lines = stderr.trimEnd().split('\n');
    expect(lines, stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^lancam-device: /);
    expect(lines[0]).toContain(target);
    expect(lines[0]).toMatch(reason);
    // Nothing was touched: the corrupted file and its partners are byte-identical.
    expect((await readFile(target)).equals(before)).toBe(true);
    for (const [f, bytes] of others) expect((await readFile(path.join(dir, f))).equals(bytes), f).toBe(true);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
