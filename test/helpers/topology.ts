/**
 * Test-built network topologies out of namespaces and veth pairs, with addresses that exist only
 * inside them: hosts that can reach a middle box but not each other.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { createNetns, type Netns } from './netns';
import { onCleanup } from './processes';

const run = promisify(execFile);

async function sh(args: string[]): Promise<void> {
  await run(args[0]!, args.slice(1));
}

/** Connects `a` and `b` with a veth pair and gives each end an address (/24). */
export async function link(a: Netns, aAddress: string, b: Netns, bAddress: string): Promise<{ aDevice: string; bDevice: string }> {
  const tag = randomBytes(3).toString('hex');
  const [ea, eb] = [`va${tag}`, `vb${tag}`];
  await sh(['ip', 'link', 'add', ea, 'netns', a.name, 'type', 'veth', 'peer', 'name', eb, 'netns', b.name]);
  onCleanup(async () => void (await run('ip', ['-n', a.name, 'link', 'del', ea]).catch(() => undefined)));
  await sh(['ip', '-n', a.name, 'addr', 'add', `${aAddress}/24`, 'dev', ea]);
  await sh(['ip', '-n', b.name, 'addr', 'add', `${bAddress}/24`, 'dev', eb]);
  await sh(['ip', '-n', a.name, 'link', 'set', ea, 'up']);
  await sh(['ip', '-n', b.name, 'link', 'set', eb, 'up']);
  return { aDevice: ea, bDevice: eb };
}

export interface ThreeHosts {
  camera: Netns;
  viewer: Netns;
  middle: Netns;
  /** The middle box's address on the camera's side and on the viewer's side. */
  middleForCamera: string;
  middleForViewer: string;
  cameraAddress: string;
  viewerAddress: string;
}

/**
 * camera (10.201.1.2) — middle (10.201.1.1 | 10.201.2.1) — viewer (10.201.2.2). Camera and viewer
 * each have a route to the middle box's other address, but the middle box does not forward, so
 * camera and viewer cannot reach each other: only what the middle box relays gets through.
 */
export async function threeHosts(): Promise<ThreeHosts> {
  const [camera, viewer, middle] = [await createNetns(), await createNetns(), await createNetns()];
  await link(camera, '10.201.1.2', middle, '10.201.1.1');
  await link(viewer, '10.201.2.2', middle, '10.201.2.1');
  await sh(['ip', 'netns', 'exec', middle.name, 'sysctl', '-qw', 'net.ipv4.ip_forward=0']);
  await sh(['ip', 'netns', 'exec', middle.name, 'sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0']);
  await sh(['ip', '-n', camera.name, 'route', 'add', '10.201.2.1/32', 'via', '10.201.1.1']);
  await sh(['ip', '-n', viewer.name, 'route', 'add', '10.201.1.1/32', 'via', '10.201.2.1']);
  return { camera, viewer, middle, middleForCamera: '10.201.1.1', middleForViewer: '10.201.2.1', cameraAddress: '10.201.1.2', viewerAddress: '10.201.2.2' };
}

/** True when `from` can open a TCP connection to addr:port (used to prove the direct path is blocked). */
export async function canConnect(from: Netns, addr: string, port: number): Promise<boolean> {
  const script = `const s=require('net').connect({host:${JSON.stringify(addr)},port:${port},timeout:1500});s.on('connect',()=>{console.log('open');process.exit(0)});s.on('error',()=>process.exit(1));s.on('timeout',()=>process.exit(1));`;
  try {
    await run('ip', ['netns', 'exec', from.name, process.execPath, '-e', script], { timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}
