/**
 * `lancam-device install-service`: sets this machine up to run the camera unattended, as the
 * hardened systemd unit in resources/lancam-device.service. It writes the unit (with the paths of
 * this node and this lancam-device, and the run options chosen), a sysusers.d entry for the
 * service's own system user (created with systemd-sysusers when missing), and prints or runs the
 * systemctl commands. With `--root DIR` everything is written under DIR instead of `/`, so it can
 * be tried (and tested) without touching the machine.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { hasControlCharacters } from '../../shared/terminal-text';

const run = promisify(execFile);

export const SERVICE_NAME = 'lancam-device.service';
export const DEFAULT_SERVICE_USER = 'lancam';
/** The unit's StateDirectory= (so the state is /var/lib/lancam-device). */
export const SERVICE_STATE_DIRECTORY = 'lancam-device';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const UNIT_TEMPLATE = path.join(REPO, 'resources', SERVICE_NAME);
const DEVICE_BIN = path.join(REPO, 'bin', 'lancam-device');

/** Options of `run` the unit may not take: the unit owns where the state is. */
const FORBIDDEN_RUN_OPTIONS = new Set(['--state-dir', '--help', '-h', '--version', '-V']);
/** Directories ProtectHome= hides: an installation under one of them must be bound in read-only. */
const HOME_DIRS = ['/home', '/root', '/run/user'];

export interface InstallServiceOptions {
  /** Write under this directory instead of `/` (nothing else on the machine is touched). */
  root?: string | undefined;
  /** The service's system user (created when missing). */
  user: string;
  /** Run `systemctl enable --now` (under --root: `systemctl --root enable`, which starts nothing). */
  enable: boolean;
  /** Options for `lancam-device run`, e.g. ['--source', '/dev/video0', '--video-stack', 'h264']. */
  runArgs: string[];
  /** The `run` command's long and short option names, with whether each takes a value. */
  knownRunOptions: ReadonlyMap<string, boolean>;
  nodePath?: string;
  devicePath?: string;
  /** Whether this process may write the real system (root); injectable for tests. */
  isRoot?: boolean;
}

export interface InstallServiceResult {
  unitPath: string;
  sysusersPath: string;
  userCreated: boolean;
  commands: string[];
  ran: boolean;
  notes: string[];
}

export class InstallServiceError extends Error {
  override name = 'InstallServiceError';
}

/** One ExecStart= word, quoted for systemd (specifiers and variables kept literal). */
export function quoteUnitWord(word: string): string {
  if (hasControlCharacters(word)) throw new InstallServiceError(`control characters (newlines, tabs, …) cannot go into a unit file: ${JSON.stringify(word)}`);
  const escaped = word.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? escaped : `"${escaped}"`;
}

/** Checks the run options: known names, values where needed, no --state-dir; throws for people. */
export function checkRunArgs(args: readonly string[], known: ReadonlyMap<string, boolean>): void {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const name = arg.startsWith('--') ? arg.split('=')[0]! : arg;
    if (!arg.startsWith('-')) throw new InstallServiceError(`"${arg}" is not an option of lancam-device run (options go after --, e.g. -- --source /dev/video0)`);
    if (FORBIDDEN_RUN_OPTIONS.has(name)) throw new InstallServiceError(`${name} cannot be set for the service: its state is the unit's StateDirectory (/var/lib/${SERVICE_STATE_DIRECTORY})`);
    const takesValue = known.get(name);
    if (takesValue === undefined) throw new InstallServiceError(`unknown option ${name} for lancam-device run`);
    if (takesValue && !arg.includes('=')) {
      const value = args[i + 1];
      if (value === undefined) throw new InstallServiceError(`${name} needs a value`);
      i++;
    }
  }
  for (const arg of args) quoteUnitWord(arg);
}

function underHome(file: string): string | undefined {
  return HOME_DIRS.find((dir) => file === dir || file.startsWith(`${dir}/`));
}

/** The unit for these paths and options, from the template in resources/. */
export async function renderUnit(options: { nodePath: string; devicePath: string; user: string; runArgs: string[] }): Promise<{ text: string; notes: string[] }> {
  if (!/^[a-z_][a-z0-9_-]{0,30}$/.test(options.user)) throw new InstallServiceError(`--user must be a system user name ([a-z_][a-z0-9_-], at most 31), not "${options.user}"`);
  for (const p of [options.nodePath, options.devicePath]) if (!path.isAbsolute(p)) throw new InstallServiceError(`not an absolute path: ${p}`);
  const template = await fs.readFile(UNIT_TEMPLATE, 'utf8');
  const notes: string[] = [];
  const exec = [options.nodePath, options.devicePath, 'run', '--state-dir', `%S/${SERVICE_STATE_DIRECTORY}`].map((w, i) => (i === 4 ? w : quoteUnitWord(w)));
  const execLine = `ExecStart=${[...exec, ...options.runArgs.map(quoteUnitWord)].join(' ')}`;
  let text = template.replace(/^ExecStart=.*$/m, execLine).replace(/^User=.*$/m, `User=${options.user}`).replace(/^Group=.*$/m, `Group=${options.user}`);
  // ProtectHome=yes hides /home and /root: an installation there is bound in read-only, alone.
  const hidden = [...new Set([options.nodePath, options.devicePath].map((p) => (underHome(p) ? installRoot(p) : undefined)).filter((p): p is string => p !== undefined))];
  if (hidden.length > 0) {
    text = text.replace(/^ProtectHome=yes$/m, `ProtectHome=tmpfs\nBindReadOnlyPaths=${hidden.map(quoteUnitWord).join(' ')}`);
    notes.push(`node or lancam-device is under a home directory (${hidden.join(', ')}): the unit hides every home (ProtectHome=tmpfs) and binds only that, read-only`);
  }
  return { text, notes };
}

/** The checkout (or npm package) directory of lancam-device, or node's prefix. */
function installRoot(file: string): string {
  const dir = path.dirname(file);
  return path.basename(dir) === 'bin' ? path.dirname(dir) : dir;
}

async function userExists(root: string, user: string): Promise<boolean> {
  const passwd = await fs.readFile(path.join(root, 'etc/passwd'), 'utf8').catch(() => '');
  return passwd.split('\n').some((line) => line.split(':')[0] === user);
}

export async function installService(options: InstallServiceOptions): Promise<InstallServiceResult> {
  const isRoot = options.isRoot ?? process.getuid?.() === 0;
  if (options.root === undefined && !isRoot) {
    throw new InstallServiceError('install-service writes /etc/systemd/system and creates a system user: run it as root (sudo lancam-device install-service …), or try it with --root <dir>');
  }
  const root = path.resolve(options.root ?? '/');
  if (options.root !== undefined) {
    const stat = await fs.stat(root).catch(() => undefined);
    if (!stat?.isDirectory()) throw new InstallServiceError(`--root ${options.root} is not a directory`);
  }
  checkRunArgs(options.runArgs, options.knownRunOptions);
  const nodePath = options.nodePath ?? process.execPath;
  const devicePath = options.devicePath ?? DEVICE_BIN;
  const { text, notes } = await renderUnit({ nodePath, devicePath, user: options.user, runArgs: options.runArgs });

  // Everything is checked: now write.
  const unitPath = path.join(root, 'etc/systemd/system', SERVICE_NAME);
  const sysusersPath = path.join(root, 'etc/sysusers.d', 'lancam-device.conf');
  await fs.mkdir(path.dirname(unitPath), { recursive: true });
  await fs.mkdir(path.dirname(sysusersPath), { recursive: true });
  await fs.writeFile(unitPath, text, { mode: 0o644 });
  await fs.writeFile(sysusersPath, `# lancam-device's system user (lancam-device install-service)\nu ${options.user} - "lancam camera" /var/lib/${SERVICE_STATE_DIRECTORY} /usr/sbin/nologin\n`, { mode: 0o644 });

  let userCreated = false;
  if (!(await userExists(root, options.user))) {
    try {
      await run('systemd-sysusers', [...(options.root !== undefined ? [`--root=${root}`] : []), sysusersPath]);
    } catch (err) {
      throw new InstallServiceError(`could not create the user "${options.user}" with systemd-sysusers: ${(err as Error).message}`);
    }
    if (!(await userExists(root, options.user))) throw new InstallServiceError(`systemd-sysusers did not create the user "${options.user}"`);
    userCreated = true;
  }

  const commands = options.root !== undefined ? [`systemctl --root=${root} enable ${SERVICE_NAME}`] : ['systemctl daemon-reload', `systemctl enable --now ${SERVICE_NAME}`];
  let ran = false;
  if (options.enable) {
    for (const command of commands) {
      const [cmd, ...args] = command.split(' ');
      try {
        await run(cmd!, args);
      } catch (err) {
        throw new InstallServiceError(`${command} failed: ${(err as Error).message}`);
      }
    }
    ran = true;
  }
  return { unitPath, sysusersPath, userCreated, commands, ran, notes };
}
