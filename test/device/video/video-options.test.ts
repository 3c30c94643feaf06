/**
 * The small pieces around the H.264 default: the start-up line's video part (caps, not sizes),
 * ICE servers in libdatachannel's form (TURN included: the CLI viewer once kept STUN only), and
 * which bind address libdatachannel may be given (a non-local one aborted the process).
 */
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { videoLine } from '../../../src/device/cli/program';
import { toNdcIceServers } from '../../../src/shared/video/ndc-ice-servers';
import { isLocalAddress, localBindAddress } from '../../../src/net/local-address';

describe('videoLine', () => {
  const size = { width: 640, height: 480, fps: 15 };
  it('says caps for cameras on the h264 stack and sizes elsewhere', () => {
    expect(videoLine('pattern', 'h264', size, {})).toBe('test pattern 640x480@15, H.264 shared by all viewers (node-datachannel)');
    expect(videoLine('rtsp://cam', 'h264', size, {})).toBe('rtsp://cam at its own size and rate, H.264 shared by all viewers (node-datachannel)');
    expect(videoLine('rtsp://cam', 'h264', size, { maxWidth: 640 })).toBe('rtsp://cam at most 640x480@its own rate, H.264 shared by all viewers (node-datachannel)');
    expect(videoLine('rtsp://cam', 'h264', size, { maxFps: 15 })).toBe('rtsp://cam at most its own size@15, H.264 shared by all viewers (node-datachannel)');
    expect(videoLine('clip.mp4', 'vp8', size, {})).toBe('clip.mp4 640x480@15, VP8 per viewer (@roamhq/wrtc)');
  });
});

describe('toNdcIceServers', () => {
  it('maps STUN and TURN (udp, tcp, tls) with credentials, and skips what it cannot read', () => {
    expect(
      toNdcIceServers([
        { urls: 'stun:10.0.0.1' },
        { urls: ['turn:10.0.0.2:3478?transport=udp', 'turn:[fd00::2]:3479?transport=tcp', 'turns:turn.example:5350'], username: '1700000000:bob', credential: 'c' },
        { urls: 'http://nope' },
      ]),
    ).toEqual([
      { hostname: '10.0.0.1', port: 3478 },
      { hostname: '10.0.0.2', port: 3478, relayType: 'TurnUdp', username: '1700000000:bob', password: 'c' },
      { hostname: 'fd00::2', port: 3479, relayType: 'TurnTcp', username: '1700000000:bob', password: 'c' },
      { hostname: 'turn.example', port: 5350, relayType: 'TurnTls', username: '1700000000:bob', password: 'c' },
    ]);
  });
});

describe('localBindAddress', () => {
  it('binds only to an address of this machine', () => {
    expect(isLocalAddress('127.0.0.1')).toBe(true);
    // TEST-NET-3: never an interface address here.
    expect(isLocalAddress('203.0.113.77')).toBe(false);
    expect(localBindAddress(['127.0.0.1'])).toBe('127.0.0.1');
    expect(localBindAddress(['203.0.113.77'])).toBeUndefined();
    expect(localBindAddress(['127.0.0.1', '10.1.2.3'])).toBeUndefined();
    const onlyLoopback = Object.values(os.networkInterfaces()).flatMap((l) => l ?? []).every((i) => i.internal);
    expect(localBindAddress([])).toBe(onlyLoopback ? '127.0.0.1' : undefined);
  });
});
