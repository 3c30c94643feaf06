/**
 * The `lancam` command line: a thin layer over the companion core.
 */
import { Command, CommanderError, Option } from 'commander';
import { groupFingerprint, shortFingerprint } from '../../shared/fingerprint';
import { CompanionError } from '../errors';
import { openHome, resolveHome, type ClientHome } from '../home';
import { KnownDeviceStore, type KnownDevice } from '../known-devices';
import { Discovery, type DiscoveredDevice } from '../discovery';
import { DeviceSession, parseAddress, type DeviceTarget } from '../device-session';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openFolderOnDesktop } from '../app/open-folder';
import { defaultSnapshotDir } from '../app/snapshots';
import { AppService } from '../app/app-service';
import { RemoteAccessStore } from '../remote/remote-access-store';
import { openRelayTransport } from '../remote/relay-transport';
import { formatRemoteAccess, parseRemoteAccess } from '../../shared/remote-access-string';
import { pairingRecordSchema, remoteSecretIssuedSchema } from '../../shared/protocol/iam-api';
import { z } from 'zod';
import { UiServer } from '../ui-server/ui-server';
import { CameraViewer, type WatchStats } from '../video/camera-viewer';
import { writePng } from '../video/snapshot';
import { createOutput, reportFailure, table, type Output } from './output';
import { pair, PAIR_MODE_OPTIONS, type PairModeOption, type PairResult } from '../pairing';
import { getSettings, inviteUser, listUsers, deleteUser, renameDevice, setRole, setSetting, type AclUser } from '../acl';
import type { IamSettingsView, SettingsKey } from '../../shared/protocol/iam-api';
import { terminalQr } from './qr';
import { readSecret, SecretInputError, type SecretSpec } from '../../net/secret-input';

/** A secret from its argument, file, standard input or environment variable (usage error if unreadable). */
async function secretOption(spec: SecretSpec, warn: (line: string) => void): Promise<string | undefined> {
  try {
    return await readSecret(spec, { warn });
  } catch (err) {
    if (err instanceof SecretInputError) throw new CompanionError('usage', err.message);
    throw err;
  }
}

interface GlobalOptions {
  home?: string;
  mdnsInterface?: string;
  bind?: string;
  json?: boolean;
  iceAddress?: string[];
}

interface Context {
  global: GlobalOptions;
  out: Output;
  home: ClientHome;
  store: KnownDeviceStore;
}

export async function runCli(argv: string[]): Promise<number> {
  let json = argv.includes('--json');
  const program = buildProgram((value) => {
    json = value;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      reportFailure(new CompanionError('usage', err.message.replace(/^error: /, '')), json);
      return 2;
    }
    reportFailure(err, json);
    return 1;
  }
}

function buildProgram(setJson: (json: boolean) => void): Command {
  const program = new Command('lancam')
    .description('Find, pair with and watch the cameras on your own network.')
    .option('--home <dir>', 'client home directory (key and known cameras); default $LANCAM_HOME or the platform config dir')
    .option('--mdns-interface <addr>', 'interface address to browse mDNS on (default: all interfaces)')
    .option('--bind <addr>', 'local source address for connections to cameras')
    .option('--json', 'print machine-readable JSON')
    .option('--ice-address <addr>', 'use only WebRTC candidates with this address (repeatable; default: all)', (v: string, prev: string[] = []) => [...prev, v])
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, outputError: () => undefined })
    .showHelpAfterError(false);

  const context = async (): Promise<Context> => {
    const global = program.opts<GlobalOptions>();
    setJson(Boolean(global.json));
    const home = await openHome(resolveHome(global.home));
    return { global, out: createOutput(Boolean(global.json)), home, store: new KnownDeviceStore(home.devicesFile) };
  };

  const deviceCommand = (name: string, description: string, parent: Command = program) =>
    parent
      .command(name)
      .description(description)
      .argument('[device]', 'device id or friendly name (or use --address)')
      .addOption(new Option('--address <host:port>', 'connect to this address instead of looking the device up'))
      .addOption(new Option('--discovery-timeout <seconds>', 'how long to look for the device by mDNS').default('3'));

  /**
   * A device command with more arguments after the device (`user role <device> <username> <role>`).
   * With --address the device is left out and the other arguments move up, so they are declared
   * as one variadic list and sorted out here.
   */
  const deviceCommandWithArgs = <A extends string[]>(
    name: string,
    description: string,
    args: { [K in keyof A]: [string, string] },
    parent: Command,
    run: (device: string | undefined, values: A, opts: DeviceOptions & Record<string, string | undefined>) => Promise<void>,
  ) => {
    const names = args.map(([n]) => `<${n}>`).join(' ');
    return deviceCommand(name, description, parent)
      .argument('[arguments...]', args.map(([n, d]) => `${n}: ${d}`).join('; '))
      .usage(`[options] <device>|--address <host:port> ${names}`)
      .action(async (device: string | undefined, rest: string[], opts: DeviceOptions & Record<string, string | undefined>) => {
        const positional = opts.address !== undefined && device !== undefined ? [device, ...rest] : rest;
        const target = opts.address !== undefined ? undefined : device;
        if (positional.length !== args.length || (target === undefined && opts.address === undefined)) {
          throw new CompanionError('usage', `usage: lancam ${parent === program ? '' : `${parent.name()} `}${name} <device>|--address <host:port> ${names}`);
        }
        await run(target, positional as A, opts);
      });
  };

  program
    .command('discover')
    .description('list the cameras announcing themselves on the network')
    .option('--timeout <seconds>', 'how long to listen', '3')
    .action(async (opts: { timeout: string }) => {
      const ctx = await context();
      const seconds = parseSeconds(opts.timeout, '--timeout');
      const discovery = new Discovery({ interface: ctx.global.mdnsInterface });
      await sleep(seconds * 1000);
      const found = discovery.devices().sort((a, b) => a.friendlyName.localeCompare(b.friendlyName) || a.deviceId.localeCompare(b.deviceId));
      await discovery.close();
      const known = new Map((await ctx.store.list()).map((d) => [d.deviceId, d]));
      ctx.out.result(
        found.length === 0
          ? `No cameras found in ${seconds} s.`
          : table(
              ['NAME', 'DEVICE ID', 'ADDRESS', 'FINGERPRINT', 'PAIRED'],
              found.map((d) => [d.friendlyName, d.deviceId, `${d.host}:${d.port}`, groupFingerprint(d.fingerprint).slice(0, 19) + ' …', pairedMark(d, known.get(d.deviceId))]),
            ),
        found.map((d) => ({ deviceId: d.deviceId, productId: d.productId, fingerprint: d.fingerprint, friendlyName: d.friendlyName, host: d.host, port: d.port })),
      );
    });

  deviceCommand('info', 'show a camera\'s identity and the pairing modes it offers you').action(async (device: string | undefined, opts: DeviceOptions) => {
    const ctx = await context();
    await withSession(ctx, device, opts, async (session) => {
      const [info, pairing] = [await session.deviceInfo(), await session.pairingInfo()];
      const result = { deviceId: info.DeviceId, productId: info.ProductId, fingerprint: info.Fingerprint, friendlyName: info.FriendlyName, modes: pairing.Modes };
      ctx.out.result(
        [
          `${info.FriendlyName}`,
          `  device id    ${info.DeviceId}`,
          `  product id   ${info.ProductId}`,
          `  fingerprint  ${groupFingerprint(info.Fingerprint)}`,
          `  address      ${session.address.host}:${session.address.port}`,
          `  paired       ${session.known ? `yes${session.known.username ? ` (as ${session.known.username})` : ''}` : 'no'}`,
          `  pairing      ${pairing.Modes.length > 0 ? pairing.Modes.join(', ') : 'none offered to you now'}`,
          `  software     ${info.AppName} ${info.AppVersion} (protocol ${info.ProtocolVersion})`,
        ].join('\n'),
        result,
      );
    });
  });

  program
    .command('devices')
    .description('list the cameras this client has paired with')
    .action(async () => {
      const ctx = await context();
      const devices = await ctx.store.list();
      ctx.out.result(
        devices.length === 0
          ? 'No paired cameras yet. Find some with "lancam discover".'
          : table(
              ['NAME', 'DEVICE ID', 'USER', 'LAST ADDRESS', 'FINGERPRINT'],
              devices.map((d) => [d.friendlyName, d.deviceId, d.username ?? '', d.lastAddress ? `${d.lastAddress.host}:${d.lastAddress.port}` : '', groupFingerprint(d.fingerprint)]),
            ),
        devices,
      );
    });

  program
    .command('forget')
    .description('forget a paired camera (its pinned key too)')
    .argument('<device>', 'device id or friendly name')
    .action(async (device: string) => {
      const ctx = await context();
      const known = await ctx.store.resolve(device);
      if (!known) throw new CompanionError('not-found', `no known camera "${device}"; see "lancam devices"`);
      await ctx.store.remove(known.deviceId);
      ctx.out.result(`Forgot ${known.friendlyName} (${known.deviceId}).`, { forgotten: known.deviceId });
    });

  deviceCommand('pair', 'pair with a camera (local, open password or invitation) and pin its key')
    .addOption(new Option('--mode <mode>', 'how to pair').choices(PAIR_MODE_OPTIONS).default('auto'))
    .option('--username <name>', 'your username on the camera (local-open, password-open), or the invited user')
    .option('--password <password>', 'the camera\'s open pairing password, or your invite password (visible to local users: prefer --password-file or $LANCAM_PASSWORD)')
    .option('--password-file <file>', 'read the password from this file ("-" = standard input)')
    .option('--pairing-string <text>', 'a pairing string p=…,d=…,u=…,pwd=…,fp=… (then the device may be omitted; visible to local users: prefer --pairing-string-file or $LANCAM_PAIRING_STRING)')
    .option('--pairing-string-file <file>', 'read the pairing string from this file ("-" = standard input)')
    .option('--name <name>', 'the name of this client\'s key on the camera (default "<login>@<hostname>")')
    .action(async (device: string | undefined, opts: PairCommandOptions) => {
      const ctx = await context();
      const warn = (line: string) => process.stderr.write(`lancam: ${line}\n`);
      opts.password = await secretOption({ flag: '--password', fileFlag: '--password-file', envName: 'LANCAM_PASSWORD', value: opts.password, file: opts.passwordFile }, warn);
      opts.pairingString = await secretOption({ flag: '--pairing-string', fileFlag: '--pairing-string-file', envName: 'LANCAM_PAIRING_STRING', value: opts.pairingString, file: opts.pairingStringFile }, warn);
      const target = device || opts.address || !opts.pairingString ? resolveTarget(device, opts) : undefined;
      const discovery = target && 'address' in target ? undefined : new Discovery({ interface: ctx.global.mdnsInterface });
      let result: PairResult;
      try {
        result = await pair({
          home: ctx.home,
          store: ctx.store,
          target,
          discovery,
          bind: ctx.global.bind,
          discoveryTimeoutMs: parseSeconds(opts.discoveryTimeout, '--discovery-timeout') * 1000,
          mode: opts.mode,
          username: opts.username,
          password: opts.password,
          pairingString: opts.pairingString,
          fingerprintName: opts.name,
          onStep: (step) => ctx.out.info(`  ${step}`),
        });
      } finally {
        await discovery?.close();
      }
      const who = `${result.username}${result.role ? ` (${result.role})` : ''}`;
      const name = `${result.friendlyName || result.deviceId} (${result.deviceId})`;
      ctx.out.result(
        [
          result.alreadyPaired ? `Already paired with ${name} as ${who}.` : `Paired with ${name} as ${who}, by ${result.mode ?? ''} pairing.`,
          `  camera key  ${groupFingerprint(result.fingerprint)}`,
          `  address     ${result.address.host}:${result.address.port}`,
          ...(result.alreadyPaired ? [] : ['This key is now pinned: a camera presenting another key under this id will be refused.']),
        ].join('\n'),
        result,
      );
    });

  deviceCommand('users', 'list the users of a camera, their roles and keys').action(async (device: string | undefined, opts: DeviceOptions) => {
    const ctx = await context();
    await withSession(ctx, device, opts, async (session) => {
      const users = await listUsers(session);
      const own = ctx.home.identity.fingerprint;
      ctx.out.result(
        users.length === 0
          ? 'No users.'
          : table(
              ['USER', 'ROLE', 'NAME', 'KEYS'],
              users.map((u) => [u.username, u.role ?? '', u.displayName ?? '', describeKeys(u, own)]),
            ),
        users,
      );
    });
  });

  deviceCommand('pairings', 'the pairings a camera made since it started: who, how, from where, and the whole key (administrators)')
    .option('--undo-last [fingerprint]', 'remove what the most recent pairing added (the user it created, or the key it added), only while it is still the pairing of this key (64 hex or grouped; default: the last key listed now)')
    .action(async (device: string | undefined, opts: DeviceOptions & { undoLast?: boolean | string }) => {
      const ctx = await context();
      await withSession(ctx, device, opts, async (session) => {
        if (opts.undoLast !== undefined && opts.undoLast !== false) {
          // The camera removes the last pairing only while it is this key: one made in between is kept.
          let expected = typeof opts.undoLast === 'string' ? opts.undoLast.replace(/[\s:]/g, '').toLowerCase() : undefined;
          if (expected !== undefined && !/^[0-9a-f]{64}$/.test(expected)) throw new CompanionError('bad-fingerprint', `--undo-last takes the key's 64 hex characters (grouped is fine), not "${String(opts.undoLast)}"`);
          expected ??= (await session.call('GET', '/iam/pairing/recent', undefined, z.array(pairingRecordSchema))).at(-1)?.Fingerprint;
          if (expected === undefined) throw new CompanionError(404, 'the camera made no pairing since it started (restarted?); remove the user with lancam user rm instead');
          await session.call('DELETE', '/iam/pairing/recent/last', { Fingerprint: expected });
        }
        const recent = await session.call('GET', '/iam/pairing/recent', undefined, z.array(pairingRecordSchema));
        const lines = recent.map((r) =>
          [
            `${r.At}  "${r.Username}" (${r.Role ?? 'no role'}) by ${r.Mode} from ${r.RemoteAddress}`,
            `  key  ${groupFingerprint(r.Fingerprint)}${r.FingerprintName !== undefined ? `  "${r.FingerprintName}"` : ''}`,
          ].join('\n'),
        );
        const hint = recent.length > 0 && recent.at(-1)!.Mode !== 'local-initial' ? `\nNot who you expected? Undo the last one: lancam pairings ${device ?? `--address ${opts.address ?? ''}`} --undo-last ${recent.at(-1)!.Fingerprint}` : '';
        ctx.out.result(`${opts.undoLast ? 'Undone.\n' : ''}${recent.length === 0 ? 'No pairings since the camera started.' : lines.join('\n')}${hint}`, recent);
      });
    });

  const user = program.command('user').description('manage the users of a camera (invite, rm, role)');

  deviceCommandWithArgs<[string]>('invite', 'create a user with a one-time password and print their pairing string', [['username', 'the new user (a-z, 0-9, _, . and -)']], user, async (device, [username], opts) => {
    const ctx = await context();
    await withSession(ctx, device, opts, async (session) => {
      const invitation = await inviteUser(session, username, opts.role!);
      if (!ctx.out.json) {
        const settings = await getSettings(session).catch(() => undefined);
        if (settings && !settings.PasswordInvitePairing) {
          ctx.out.info(`note: invite pairing is switched off on this camera; turn it on with "lancam settings ${device ?? `--address ${opts.address ?? ''}`} --password-invite on"`);
        }
      }
      ctx.out.result(
        [
          `Invited ${invitation.username} as ${invitation.role}. Give them this pairing string (it works once):`,
          '',
          `  ${invitation.pairingString}`,
          '',
          terminalQr(invitation.pairingString),
          `They pair with: lancam pair --pairing-string '${invitation.pairingString}'`,
        ].join('\n'),
        invitation,
      );
    });
  }).requiredOption('--role <role>', 'the role to give the new user');

  deviceCommandWithArgs<[string]>('remote-secret', 'issue a shared secret so the user can watch through a relay (beyond the LAN)', [['username', 'the user']], user, async (device, [username], opts) => {
    const ctx = await context();
    await withSession(ctx, device, opts, async (session) => {
      const issued = await session.call('POST', `/iam/users/${encodeURIComponent(username)}/remote-secrets`, opts.name ? { Name: opts.name } : {}, remoteSecretIssuedSchema);
      if (issued.Fingerprint !== session.deviceFingerprint) throw new CompanionError('bad-response', 'the camera named a key other than its own');
      const accessString = formatRemoteAccess({
        deviceId: issued.DeviceId,
        fingerprint: issued.Fingerprint,
        kid: issued.Kid,
        secret: issued.Secret,
        ...(opts.relay ? { relay: opts.relay } : {}),
        ...(opts.relayFingerprint ? { relayFingerprint: opts.relayFingerprint } : {}),
      });
      ctx.out.result(
        [
          `Issued a remote-access secret for ${username}. Give them this string (keep it secret: it lets them watch through the relay):`,
          '',
          `  ${accessString}`,
          '',
          terminalQr(accessString),
          `They add it with: lancam remote add '${accessString}'`,
          `Revoke it by removing the user, or: lancam user rm … (all of the user's access goes with it).`,
        ].join('\n'),
        { username, kid: issued.Kid, accessString },
      );
    });
  })
    .option('--relay <url>', 'the relay the user should use (put into the string)')
    .option('--relay-fingerprint <fp>', 'the relay\'s key fingerprint (put into the string)')
    .option('--name <name>', 'a name for this secret, e.g. the user\'s phone');

  deviceCommandWithArgs<[string]>('rm', 'remove a user from a camera', [['username', 'the user to remove']], user, async (device, [username], opts) => {
    const ctx = await context();
    await withSession(ctx, device, opts, async (session) => {
      await deleteUser(session, username);
      ctx.out.result(`Removed ${username}.`, { removed: username });
    });
  });

  deviceCommandWithArgs<[string, string]>('role', 'change a user\'s role', [['username', 'the user'], ['role', 'the new role']], user, async (device, [username, role], opts) => {
    const ctx = await context();
    await withSession(ctx, device, opts, async (session) => {
      await setRole(session, username, role);
      ctx.out.result(`${username} is now ${role}.`, { username, role });
    });
  });

  deviceCommand('settings', 'show or change a camera\'s pairing settings')
    .option('--local-open <on|off>', 'local open pairing (inside the pairing window)')
    .option('--local-initial <on|off>', 'local initial pairing (the first user)')
    .option('--password-open <on|off>', 'password open pairing')
    .option('--password-invite <on|off>', 'password invite pairing')
    .option('--open-password <password>', 'the open pairing password (visible to local users: prefer --open-password-file or $LANCAM_OPEN_PASSWORD)')
    .option('--open-password-file <file>', 'read the open pairing password from this file ("-" = standard input)')
    .option('--open-pairing-role <role>', 'the role open pairing gives')
    .action(async (device: string | undefined, opts: SettingsCommandOptions) => {
      const ctx = await context();
      opts.openPassword = await secretOption(
        { flag: '--open-password', fileFlag: '--open-password-file', envName: 'LANCAM_OPEN_PASSWORD', value: opts.openPassword, file: opts.openPasswordFile },
        (line) => process.stderr.write(`lancam: ${line}\n`),
      );
      const changes = settingsChanges(opts);
      await withSession(ctx, device, opts, async (session) => {
        for (const [key, value] of changes) await setSetting(session, key, value as never);
        const settings = await getSettings(session);
        ctx.out.result(`${changes.length > 0 ? 'Saved.\n' : ''}${describeSettings(settings)}`, settings);
      });
    });

  deviceCommandWithArgs<[string]>('rename', 'change a camera\'s friendly name', [['name', 'the new name']], program, async (device, [name], opts) => {
    const ctx = await context();
    await withSession(ctx, device, opts, async (session) => {
      await renameDevice(session, name);
      const deviceId = session.known?.deviceId ?? (await session.deviceInfo()).DeviceId;
      if (session.known) await ctx.store.touch(session.known.deviceId, { friendlyName: name });
      ctx.out.result(`Renamed ${deviceId} to "${name}".`, { deviceId, friendlyName: name });
    });
  });

  const remote = program.command('remote').description('remote-access secrets this client holds (for watching through a relay)');
  remote
    .command('add')
    .description('store a remote-access string (encrypted with this client\'s key)')
    .argument('[access-string]', 'lancam-remote:d=…,fp=…,kid=…,sec=…[,relay=…], or "-" to read it from standard input (visible to local users as an argument: prefer --file, "-" or $LANCAM_REMOTE_ACCESS)')
    .option('--file <file>', 'read the remote-access string from this file ("-" = standard input)')
    .action(async (arg: string | undefined, opts: { file?: string }) => {
      const ctx = await context();
      const text = await secretOption(
        { flag: 'the access string argument', fileFlag: '--file', envName: 'LANCAM_REMOTE_ACCESS', value: arg, file: opts.file },
        (line) => process.stderr.write(`lancam: ${line}\n`),
      );
      if (text === undefined) throw new CompanionError('usage', 'give the remote-access string: --file FILE, - (standard input), $LANCAM_REMOTE_ACCESS, or as an argument');
      let grant;
      try {
        grant = parseRemoteAccess(text);
      } catch (err) {
        throw new CompanionError('usage', (err as Error).message);
      }
      await remoteStore(ctx).put(grant);
      ctx.out.result(`Stored remote access to ${grant.deviceId} (camera key ${groupFingerprint(grant.fingerprint).slice(0, 19)} …)${grant.relay ? ` through ${grant.relay}` : ''}.`, { deviceId: grant.deviceId, relay: grant.relay ?? null });
    });
  remote
    .command('list')
    .description('the cameras this client can reach through a relay')
    .action(async () => {
      const ctx = await context();
      const grants = await remoteStore(ctx).list();
      ctx.out.result(
        grants.length === 0 ? 'No remote access stored.' : table(['DEVICE ID', 'RELAY', 'KEY ID'], grants.map((g) => [g.deviceId, g.relay ?? '(none)', g.kid])),
        grants.map((g) => ({ deviceId: g.deviceId, fingerprint: g.fingerprint, kid: g.kid, relay: g.relay ?? null })),
      );
    });
  remote
    .command('rm')
    .description('forget the remote access to a camera')
    .argument('<device>', 'device id')
    .action(async (device: string) => {
      const ctx = await context();
      if (!(await remoteStore(ctx).remove(device))) throw new CompanionError('not-found', `no remote access stored for ${device}`);
      ctx.out.result(`Forgot the remote access to ${device}.`, { removed: device });
    });

  deviceCommand('snapshot', 'save one frame of a camera\'s live video as a PNG')
    .requiredOption('-o, --output <file>', 'PNG file to write')
    .option('--timeout <seconds>', 'how long to wait for a frame', '10')
    .option('--via-relay', 'go through the relay even if the camera is on this network')
    .option('--relay <url>', 'the relay to use (default: the one in the remote-access string)')
    .option('--stream <main|sub>', 'the camera\'s main stream (default) or its smaller sub stream')
    .action(async (device: string | undefined, opts: ViewerCommandOptions & { output: string; timeout: string }) => {
      const ctx = await context();
      const timeoutMs = parseSeconds(opts.timeout, '--timeout') * 1000;
      await withViewer(ctx, device, opts, async (viewer) => {
        try {
          const frame = await viewer.nextFrame(timeoutMs);
          await writePng(frame, opts.output);
          ctx.out.result(`Saved a ${frame.width}x${frame.height} frame to ${opts.output}.`, { file: opts.output, width: frame.width, height: frame.height });
        } finally {
          viewer.close();
        }
      });
    });

  deviceCommand('watch', 'watch a camera\'s live video and report frame rate, bitrate and latency')
    .option('--seconds <n>', 'how long to watch', '10')
    .option('--via-relay', 'go through the relay even if the camera is on this network')
    .option('--relay <url>', 'the relay to use (default: the one in the remote-access string)')
    .option('--stream <main|sub>', 'the camera\'s main stream (default) or its smaller sub stream')
    .action(async (device: string | undefined, opts: ViewerCommandOptions & { seconds: string }) => {
      const ctx = await context();
      const seconds = parseSeconds(opts.seconds, '--seconds');
      await withViewer(ctx, device, opts, async (viewer) => {
        try {
          await viewer.nextFrame(Math.max(10_000, seconds * 1000));
          const ended = await Promise.race([sleep(seconds * 1000).then(() => undefined), viewer.closed()]);
          const s = await viewer.stats();
          if (ended !== undefined) throw new CompanionError('video-closed', `video ended after ${s.frames} frames: ${ended}`);
          const { frames: _frames, ...result } = s;
          ctx.out.result(
            [
              `${s.width}x${s.height}, first frame after ${s.timeToFirstFrameMs ?? '?'} ms`,
              `  frame rate      ${s.fps} fps (${s.framesDropped} dropped)`,
              `  bitrate         ${s.bitrateKbps} kbit/s`,
              `  round trip      ${s.rttMs ?? '?'} ms`,
              `  glass to glass  ${s.glassToGlassMs === null ? 'unknown (the camera does not send the test pattern)' : `${s.glassToGlassMs} ms`}`,
              ...audioLines(s.audio),
            ].join('\n'),
            { ...result, audio: audioJson(s.audio) },
          );
        } finally {
          viewer.close();
        }
      });
    });

  program
    .command('ui')
    .description('serve the desktop UI to a browser on this machine (for machines without a desktop session)')
    .option('--port <n>', 'port on 127.0.0.1 (0 = any free port)', '0')
    .option('--static <dir>', 'the built renderer to serve', defaultRendererDir())
    .option('--snapshots <dir>', 'where snapshots are saved (default: ~/Pictures/lancam)')
    .action(async (opts: { port: string; static: string; snapshots?: string }) => {
      const ctx = await context();
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CompanionError('usage', '--port must be 0..65535');
      await fs.access(path.join(opts.static, 'index.html')).catch(() => {
        throw new CompanionError('not-built', `no built UI in ${opts.static}; run "npm run build" first`);
      });
      const snapshots = path.resolve(opts.snapshots ?? defaultSnapshotDir());
      const app = new AppService({
        home: ctx.home,
        store: ctx.store,
        mdnsInterface: ctx.global.mdnsInterface,
        bind: ctx.global.bind,
        identity: { keyProtection: 'file-0600', keyProtectionNote: `the key is a file readable only by you (${ctx.home.keyFile})` },
        remoteAccess: remoteStore(ctx),
        snapshotDir: snapshots,
        showInFolder: openFolderOnDesktop,
      });
      const server = new UiServer({ app, staticDir: opts.static, port, log: (line) => process.stderr.write(`${line}\n`) });
      const { url } = await server.listen();
      ctx.out.result(`lancam UI: open ${url}\n(the address holds a secret access token, valid until this stops; keep it to yourself. Ctrl-C stops.)`, { url });
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
      await app.close();
    });

  program
    .command('whoami')
    .description('show this client\'s key fingerprint and home directory')
    .action(async () => {
      const ctx = await context();
      const fp = ctx.home.identity.fingerprint;
      ctx.out.result(`fingerprint  ${groupFingerprint(fp)}\n             ${fp}\nhome         ${ctx.home.dir}`, {
        fingerprint: fp,
        fingerprintGrouped: groupFingerprint(fp),
        home: ctx.home.dir,
      });
    });

  return program;
}

interface DeviceOptions {
  address?: string;
  discoveryTimeout: string;
}

interface PairCommandOptions extends DeviceOptions {
  mode: PairModeOption;
  username?: string;
  password?: string | undefined;
  passwordFile?: string;
  pairingString?: string | undefined;
  pairingStringFile?: string;
  name?: string;
}

interface SettingsCommandOptions extends DeviceOptions {
  localOpen?: string;
  localInitial?: string;
  passwordOpen?: string;
  passwordInvite?: string;
  openPassword?: string | undefined;
  openPasswordFile?: string;
  openPairingRole?: string;
}

/** The settings flags given, as [key, value] pairs in a fixed order. */
function settingsChanges(opts: SettingsCommandOptions): [SettingsKey, boolean | string][] {
  const changes: [SettingsKey, boolean | string][] = [];
  const flag = (key: SettingsKey, value: string | undefined, name: string) => {
    if (value !== undefined) changes.push([key, parseOnOff(value, name)]);
  };
  flag('local-initial-pairing', opts.localInitial, '--local-initial');
  flag('local-open-pairing', opts.localOpen, '--local-open');
  flag('password-open-pairing', opts.passwordOpen, '--password-open');
  flag('password-invite-pairing', opts.passwordInvite, '--password-invite');
  if (opts.openPassword !== undefined) changes.push(['password-open-password', opts.openPassword]);
  if (opts.openPairingRole !== undefined) changes.push(['open-pairing-role', opts.openPairingRole]);
  return changes;
}

function parseOnOff(text: string, flag: string): boolean {
  const value = text.toLowerCase();
  if (['on', 'true', 'yes', '1'].includes(value)) return true;
  if (['off', 'false', 'no', '0'].includes(value)) return false;
  throw new CompanionError('usage', `${flag} takes on or off`);
}

function describeSettings(s: IamSettingsView): string {
  const onOff = (b: boolean) => (b ? 'on' : 'off');
  return [
    `local initial pairing    ${onOff(s.LocalInitialPairing)}${s.InitialPairingUsername ? ` (first user: ${s.InitialPairingUsername})` : ''}`,
    `local open pairing       ${onOff(s.LocalOpenPairing)}${s.PairingWindowSeconds > 0 ? ` (pairing window open for ${s.PairingWindowSeconds} s)` : ' (pairing window closed)'}`,
    `password open pairing    ${onOff(s.PasswordOpenPairing)}${s.PasswordOpenPasswordSet ? ' (password set)' : ' (no password set)'}`,
    `password invite pairing  ${onOff(s.PasswordInvitePairing)}`,
    `open pairing role        ${s.OpenPairingRole ?? '(none)'}`,
  ].join('\n');
}

function describeKeys(user: AclUser, own: string): string {
  if (user.fingerprints.length === 0) return '(no key yet)';
  return user.fingerprints
    .map((f) => `${shortFingerprint(f.fingerprint)} …${f.name ? ` ${f.name}` : ''}${f.fingerprint === own ? ' (you)' : ''}`)
    .join(', ');
}

async function withSession(ctx: Context, device: string | undefined, opts: DeviceOptions, use: (session: DeviceSession) => Promise<void>): Promise<void> {
  const target: DeviceTarget = resolveTarget(device, opts);
  const discovery = 'nameOrId' in target ? new Discovery({ interface: ctx.global.mdnsInterface }) : undefined;
  let session: DeviceSession;
  try {
    session = await DeviceSession.open({
      home: ctx.home,
      store: ctx.store,
      discovery,
      target,
      bind: ctx.global.bind,
      discoveryTimeoutMs: parseSeconds(opts.discoveryTimeout, '--discovery-timeout') * 1000,
    });
  } finally {
    await discovery?.close();
  }
  try {
    await use(session);
    if (session.known) await ctx.store.touch(session.known.deviceId, { lastAddress: session.address, lastSeenAt: new Date().toISOString() });
  } finally {
    session.close();
  }
}

interface ViewerCommandOptions extends DeviceOptions {
  viaRelay?: boolean;
  relay?: string;
  stream?: string;
}

/** --stream main|sub (the camera's sub stream, where it has one). */
function streamOption(opts: ViewerCommandOptions): { stream?: 'main' | 'sub' } {
  if (opts.stream === undefined) return {};
  if (opts.stream !== 'main' && opts.stream !== 'sub') throw new CompanionError('usage', `--stream must be main or sub, not "${opts.stream}"`);
  return { stream: opts.stream };
}

function remoteStore(ctx: Context): RemoteAccessStore {
  return new RemoteAccessStore(path.join(ctx.home.dir, 'remote-access.json'), ctx.home.identity.privateKey);
}

/**
 * A live viewer for `snapshot` and `watch`: over the LAN, or through the relay when asked
 * (`--via-relay`) or when the camera cannot be reached on this network and remote access is stored.
 */
async function withViewer(ctx: Context, device: string | undefined, opts: ViewerCommandOptions, use: (viewer: CameraViewer) => Promise<void>): Promise<void> {
  streamOption(opts); // a bad --stream fails before anything is opened
  const viaRelay = async () => {
    const deviceId = device !== undefined ? ((await ctx.store.resolve(device))?.deviceId ?? device) : undefined;
    const grant = deviceId !== undefined ? await remoteStore(ctx).get(deviceId) : undefined;
    if (!grant) throw new CompanionError('no-remote-access', `no remote access stored for ${device ?? 'this camera'}; ask its admin for a remote-access string ("lancam user remote-secret") and add it with "lancam remote add"`);
    const url = opts.relay ?? grant.relay;
    if (!url) throw new CompanionError('usage', 'which relay? the remote-access string names none; pass --relay wss://host:port');
    const transport = await openRelayTransport(grant, { url, pinFingerprint: grant.relayFingerprint });
    try {
      const viewer = await CameraViewer.open(transport, { iceAddresses: ctx.global.iceAddress ?? [], ...streamOption(opts) });
      await use(viewer);
    } finally {
      transport.close();
    }
  };
  if (opts.viaRelay) return viaRelay();
  let connected = false;
  try {
    await withSession(ctx, device, opts, async (session) => {
      connected = true;
      await use(await CameraViewer.open(session, { iceAddresses: ctx.global.iceAddress ?? [], ...streamOption(opts) }));
    });
  } catch (err) {
    // Only a camera that could not be reached at all falls back to the relay.
    const unreachable = !connected && err instanceof CompanionError && ['not-found', 'unreachable', 'timeout'].includes(String(err.status));
    const deviceId = device !== undefined ? ((await ctx.store.resolve(device).catch(() => undefined))?.deviceId ?? device) : undefined;
    if (!unreachable || deviceId === undefined || !(await remoteStore(ctx).get(deviceId))) throw err;
    ctx.out.info(`${device} is not reachable on this network; going through the relay`);
    await viaRelay();
  }
}

function resolveTarget(device: string | undefined, opts: DeviceOptions): DeviceTarget {
  if (opts.address && device) throw new CompanionError('usage', 'give either a device or --address, not both');
  if (opts.address) return { address: parseAddress(opts.address) };
  if (device) return { nameOrId: device };
  throw new CompanionError('usage', 'which camera? give a device id, a name, or --address host:port');
}

function pairedMark(d: DiscoveredDevice, known: KnownDevice | undefined): string {
  if (!known) return 'no';
  return known.fingerprint === d.fingerprint ? 'yes' : 'KEY CHANGED';
}

function parseSeconds(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new CompanionError('usage', `${flag} must be a number of seconds between 0 and 3600`);
  return n;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The renderer that `npm run build` produces, relative to this checkout. */
function defaultRendererDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../out/renderer');
}

/** `lancam watch`'s audio lines: codec, level over the last second, A/V offset from the pattern's beeps. */
function audioLines(audio: WatchStats['audio']): string[] {
  if (!audio) return ['  audio           none'];
  const level = audio.levelDbfs === null ? 'no sound decoded' : Number.isFinite(audio.levelDbfs) ? `${audio.levelDbfs} dBFS` : 'silent';
  const offset = audio.avOffsetMs === null ? (audio.beeps === 0 ? 'unknown (no test-pattern beep heard)' : 'unknown (no video latency)') : `${audio.avOffsetMs > 0 ? '+' : ''}${audio.avOffsetMs} ms (audio ${audio.avOffsetMs >= 0 ? 'after' : 'before'} video, ${audio.beeps} beeps)`;
  return [`  audio           ${audio.codec}, ${audio.packets} packets`, `  audio level     ${level} (RMS, last second)`, `  A/V offset      ${offset}`];
}

/** JSON has no -Infinity: digital silence is reported as null with silent: true. */
function audioJson(audio: WatchStats['audio']): unknown {
  if (!audio) return null;
  const silent = audio.levelDbfs !== null && !Number.isFinite(audio.levelDbfs);
  return { ...audio, levelDbfs: silent ? null : audio.levelDbfs, silent };
}
