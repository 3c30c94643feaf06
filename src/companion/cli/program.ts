/**
 * The `lancam` command line: a thin layer over the companion core.
 */
import { Command, CommanderError, Option } from 'commander';
import { groupFingerprint } from '../../shared/fingerprint';
import { CompanionError } from '../errors';
import { openHome, resolveHome, type ClientHome } from '../home';
import { KnownDeviceStore, type KnownDevice } from '../known-devices';
import { Discovery, type DiscoveredDevice } from '../discovery';
import { DeviceSession, parseAddress, type DeviceTarget } from '../device-session';
import { createOutput, reportFailure, table, type Output } from './output';

interface GlobalOptions {
  home?: string;
  mdnsInterface?: string;
  bind?: string;
  json?: boolean;
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
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, outputError: () => undefined })
    .showHelpAfterError(false);

  const context = async (): Promise<Context> => {
    const global = program.opts<GlobalOptions>();
    setJson(Boolean(global.json));
    const home = await openHome(resolveHome(global.home));
    return { global, out: createOutput(Boolean(global.json)), home, store: new KnownDeviceStore(home.devicesFile) };
  };

  const deviceCommand = (name: string, description: string) =>
    program
      .command(name)
      .description(description)
      .argument('[device]', 'device id or friendly name (or use --address)')
      .addOption(new Option('--address <host:port>', 'connect to this address instead of looking the device up'))
      .addOption(new Option('--discovery-timeout <seconds>', 'how long to look for the device by mDNS').default('3'));

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
