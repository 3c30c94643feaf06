/**
 * The device's IAM: Nabto config and state, loaded from and saved to their JSON files, and every
 * access decision (logged). Changes are serialized, validated before they are written, written
 * atomically, and only then made visible: a change that fails validation or fails to save
 * changes nothing.
 */
import { randomInt } from 'node:crypto';
import { removeStaleTempFiles, writeJsonAtomic } from '../../net/atomic-file';
import { createDefaultIam } from '../../shared/iam/defaults';
import { evaluate, IamAttributeNames, type IamAttributes, type IamDecision } from '../../shared/iam/policy-engine';
import {
  assertStateMatchesConfig,
  IamFormatError,
  parseIamConfig,
  parseIamState,
  serializeIamConfig,
  serializeIamState,
  type IamConfig,
  type IamState,
  type IamUser,
} from '../../shared/iam/schema';
import { DeviceStateError, readJsonFileOrExplain } from '../state/device-files';
import { SourceLog, type Logger } from '../../net/log';
import { sourceKey } from '../../shared/net-address';

export interface IamFiles {
  iamConfigFile: string;
  iamStateFile: string;
}

/**
 * Who is asking: the client's key and where it connects from; or, through the relay, the user
 * whose shared secret signed the request (`remoteKid`).
 */
export interface Requester {
  fingerprint: string;
  remoteAddress: string;
  isLocal: boolean;
  remoteKid?: string;
}

const PASSWORD_ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** Random strings for passwords and tokens (no look-alike characters). */
export function randomString(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  return out;
}

export class IamService {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly changeListeners: ((state: Readonly<IamState>) => void)[] = [];

  private constructor(
    readonly files: IamFiles,
    readonly config: IamConfig,
    private current: IamState,
    private readonly log: Logger,
  ) {
    this.decisionLog = new SourceLog(log);
  }

  /** Decisions are logged rate-limited per source (a flood of denied requests must not bury the log). */
  private readonly decisionLog: SourceLog;

  /**
   * Loads the IAM files; creates the defaults where both are missing (first run). A file that
   * exists but fails validation stops here with the reason; the file is not touched.
   */
  static async open(files: IamFiles, options: { friendlyName: string; log: Logger }): Promise<{ iam: IamService; created: boolean }> {
    const stale = (await removeStaleTempFiles(files.iamStateFile)) + (await removeStaleTempFiles(files.iamConfigFile));
    if (stale > 0) options.log.info(`removed ${stale} temp file(s) left by an interrupted write`);
    const [configJson, stateJson] = [await readJsonFileOrExplain(files.iamConfigFile), await readJsonFileOrExplain(files.iamStateFile)];
    let config: IamConfig;
    let state: IamState;
    let created = false;
    try {
      if (configJson === undefined && stateJson === undefined) {
        ({ config, state } = createDefaultIam({ friendlyName: options.friendlyName, randomString }));
        created = true;
      } else if (configJson === undefined || stateJson === undefined) {
        const missing = configJson === undefined ? files.iamConfigFile : files.iamStateFile;
        throw new DeviceStateError(`${missing} is missing while its partner file exists; restore it, or move both away to start with a fresh IAM`);
      } else {
        config = parseIamConfig(configJson);
        state = parseIamState(stateJson);
        assertStateMatchesConfig(state, config);
      }
    } catch (err) {
      if (err instanceof IamFormatError) {
        const file = err.message.startsWith('IAM config') ? files.iamConfigFile : files.iamStateFile;
        throw new DeviceStateError(`${file}: ${err.message}`);
      }
      throw err;
    }
    const iam = new IamService(files, config, state, options.log);
    if (created) {
      await writeJsonAtomic(files.iamConfigFile, serializeIamConfig(config), 0o600);
      await writeJsonAtomic(files.iamStateFile, serializeIamState(state), 0o600);
    }
    return { iam, created };
  }

  /** Called after every change is on disk and current (e.g. to void password proofs). */
  onChange(listener: (state: Readonly<IamState>) => void): void {
    this.changeListeners.push(listener);
  }

  get state(): Readonly<IamState> {
    return this.current;
  }

  get friendlyName(): string {
    return this.current.FriendlyName ?? '';
  }

  userByFingerprint(fingerprint: string): IamUser | undefined {
    return this.current.Users.find((u) => u.Fingerprints.some((f) => f.Fingerprint === fingerprint));
  }

  user(username: string): IamUser | undefined {
    return this.current.Users.find((u) => u.Username === username);
  }

  /** The user owning a remote (relay) shared secret, and the secret. */
  remoteSecret(kid: string): { user: IamUser; secret: string } | undefined {
    for (const user of this.current.Users) {
      const entry = user.RemoteSecrets?.find((r) => r.Kid === kid);
      if (entry) return { user, secret: entry.Secret };
    }
    return undefined;
  }

  /** The user a requester acts as: by its remote secret, else by its key. */
  userOf(requester: Requester): IamUser | undefined {
    if (requester.remoteKid !== undefined) return this.remoteSecret(requester.remoteKid)?.user;
    return this.userByFingerprint(requester.fingerprint);
  }

  /** Decides one action for one requester, and logs the decision. */
  authorize(requester: Requester, action: string, attributes: IamAttributes = {}): IamDecision {
    const user = this.userOf(requester);
    const role = user ? user.Role : this.config.Config.UnpairedRole;
    const decision = evaluate(this.config, role, action, {
      ...(user ? { [IamAttributeNames.ConnectionUsername]: user.Username } : {}),
      [IamAttributeNames.ConnectionIsLocal]: requester.isLocal,
      ...attributes,
    });
    const who = requester.remoteKid !== undefined ? `remote secret ${requester.remoteKid.slice(0, 8)}… via relay` : `${requester.fingerprint.slice(0, 12)}… from ${requester.remoteAddress}`;
    const source = user ? `user ${user.Username}` : requester.remoteKid !== undefined ? `kid ${requester.remoteKid.slice(0, 8)}…` : sourceKey(requester.remoteAddress);
    this.decisionLog.info(source, `iam ${decision.effect}: ${user ? `user ${user.Username}` : 'unpaired client'} ${who}: ${decision.reason}`);
    return decision;
  }

  /**
   * Applies a change to a copy of the state, validates it, saves it atomically and then makes it
   * current. Changes run one at a time. The returned promise settles after the state is on disk.
   */
  mutate<T>(change: (draft: IamState) => T): Promise<T> {
    const run = async (): Promise<T> => {
      const draft = structuredClone(this.current);
      const result = change(draft);
      const next = parseIamState(serializeIamState(draft));
      assertStateMatchesConfig(next, this.config);
      await writeJsonAtomic(this.files.iamStateFile, serializeIamState(next), 0o600);
      this.current = next;
      for (const listener of this.changeListeners) listener(next);
      return result;
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
