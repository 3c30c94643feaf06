/**
 * Who is connected and watching, when each user was last seen, and when each key was added: the
 * lancam extension (`Lancam`) of the IAM user object. Presence is in memory (since the daemon
 * started); key times are kept beside the IAM state in `key-times.json` (written atomically), so
 * the Nabto IAM files stay exactly Nabto's format. A key's time is when the camera first had it
 * (recorded after the request that added it, or at start-up for keys of unknown age: those get
 * none, never a made-up one).
 */
import path from 'node:path';
import { z } from 'zod';
import { readJsonFile, writeJsonAtomic } from '../net/atomic-file';
import type { LancamUserExtension } from '../shared/protocol/lancam-presence';
import type { IamService } from './iam/iam-service';
import type { Logger } from '../net/log';

const keyTimesSchema = z.object({ version: z.literal(1), keys: z.record(z.string().regex(/^[0-9a-f]{64}$/), z.string().max(40)) });

export class UserPresence {
  private readonly lastSeen = new Map<string, number>();
  private readonly connected = new Map<string, number>();
  private keys: Record<string, string> = {};
  /** Keys in the IAM state when tracking began, whose age nobody knows. */
  private readonly unknownAge = new Set<string>();
  private saving: Promise<void> = Promise.resolve();
  private writable = true;
  readonly file: string;

  private constructor(
    stateDir: string,
    private readonly iam: IamService,
    private readonly log: Logger,
  ) {
    this.file = path.join(stateDir, 'key-times.json');
  }

  /** Loads key-times.json; a file that does not parse is reported and left as it is (not overwritten). */
  static async open(stateDir: string, iam: IamService, log: Logger): Promise<UserPresence> {
    const presence = new UserPresence(stateDir, iam, log);
    let writable = true;
    try {
      const raw = await readJsonFile(presence.file);
      if (raw !== undefined) {
        const parsed = keyTimesSchema.safeParse(raw);
        if (parsed.success) presence.keys = { ...parsed.data.keys };
        else {
          writable = false;
          log.info(`${presence.file} is not a key times file (${parsed.error.issues[0]?.message ?? 'invalid'}); key "added" times are not kept until it is fixed or removed`);
        }
      }
    } catch (err) {
      writable = false;
      log.info(`${presence.file} could not be read (${(err as Error).message}); key "added" times are not kept until it is fixed or removed`);
    }
    presence.writable = writable;
    for (const user of iam.state.Users) for (const f of user.Fingerprints) if (!(f.Fingerprint in presence.keys)) presence.unknownAge.add(f.Fingerprint);
    return presence;
  }

  connectionOpened(fingerprint: string): void {
    this.connected.set(fingerprint, (this.connected.get(fingerprint) ?? 0) + 1);
    this.lastSeen.set(fingerprint, Date.now());
  }

  connectionClosed(fingerprint: string): void {
    const n = (this.connected.get(fingerprint) ?? 1) - 1;
    if (n <= 0) this.connected.delete(fingerprint);
    else this.connected.set(fingerprint, n);
    this.lastSeen.set(fingerprint, Date.now());
  }

  /** After any request: a key the IAM state has now and did not have before was just added. */
  afterRequest(fingerprint: string): void {
    this.lastSeen.set(fingerprint, Date.now());
    let added = false;
    const now = new Date().toISOString();
    for (const user of this.iam.state.Users) {
      for (const f of user.Fingerprints) {
        if (f.Fingerprint in this.keys || this.unknownAge.has(f.Fingerprint)) continue;
        this.keys[f.Fingerprint] = now;
        added = true;
      }
    }
    if (added) void this.save();
  }

  /** The `Lancam` member for a user, given the usernames watching now. */
  extensionFor(username: string, watching: ReadonlySet<string>): LancamUserExtension | undefined {
    const user = this.iam.user(username);
    if (!user) return undefined;
    let seen: number | undefined;
    let connectedNow = false;
    const keysAdded: Record<string, string> = {};
    for (const f of user.Fingerprints) {
      const t = this.lastSeen.get(f.Fingerprint);
      if (t !== undefined && (seen === undefined || t > seen)) seen = t;
      if (this.connected.has(f.Fingerprint)) connectedNow = true;
      const added = this.keys[f.Fingerprint];
      if (added) keysAdded[f.Fingerprint] = added;
    }
    return { WatchingNow: watching.has(username), ConnectedNow: connectedNow, ...(seen !== undefined ? { LastSeen: new Date(seen).toISOString() } : {}), KeysAdded: keysAdded };
  }

  private save(): Promise<void> {
    if (!this.writable) return this.saving;
    // Keys removed from the IAM state are dropped from the file too.
    const present = new Set(this.iam.state.Users.flatMap((u) => u.Fingerprints.map((f) => f.Fingerprint)));
    const keys = Object.fromEntries(Object.entries(this.keys).filter(([fp]) => present.has(fp)));
    this.saving = this.saving.then(() => writeJsonAtomic(this.file, { version: 1, keys }).catch((err: unknown) => this.log.info(`could not save ${this.file}: ${(err as Error).message}`)));
    return this.saving;
  }
}
