/**
 * The network-safety check of the Janus configuration that the "streams" benchmarks write
 * (bench/streams-env.ts): the configuration as generated passes, and each unsafe change a
 * maintainer might make (a STUN or TURN server, ICE lite, a 1:1 NAT mapping, full trickle, ICE on
 * another interface, HTTP on all addresses, the admin API, another transport) is refused.
 */
import { describe, expect, it } from 'vitest';
import { checkJanusConfig, janusConfig } from '../../bench/streams-env';

const base = () => janusConfig(18188, 'rtsp://127.0.0.1:8554/cam');

function edited(file: string, from: RegExp | string, to: string): Record<string, string> {
  const files = base();
  const before = files[file]!;
  files[file] = before.replace(from, to);
  expect(files[file], `the edit of ${file} did not apply`).not.toBe(before);
  return files;
}

describe('the benchmark\'s Janus configuration', () => {
  it('as generated passes every check, with HTTP on 127.0.0.1 and only the streaming plugin\'s RTSP pull', () => {
    const files = base();
    expect(checkJanusConfig(files)).toContain('no STUN server');
    expect(files['janus.transport.http.jcfg']).toMatch(/ip = "127\.0\.0\.1"/);
    expect(files['janus.plugin.streaming.jcfg']).toMatch(/type = "rtsp"/);
  });

  it.each([
    ['a STUN server', 'janus.jcfg', 'nat: {', 'nat: {\n  stun_server = "stun.example.org"'],
    ['a TURN server', 'janus.jcfg', 'nat: {', 'nat: {\n  turn_server = "turn.example.org"'],
    ['a 1:1 NAT mapping', 'janus.jcfg', 'nat: {', 'nat: {\n  nat_1_1_mapping = "203.0.113.7"'],
    ['ICE lite', 'janus.jcfg', 'ice_lite = false', 'ice_lite = true'],
    ['full trickle', 'janus.jcfg', 'full_trickle = false', 'full_trickle = true'],
    ['ICE on another interface', 'janus.jcfg', /ice_enforce_list = "[^"]*"/, 'ice_enforce_list = "eth0"'],
    ['HTTP on every address', 'janus.transport.http.jcfg', 'ip = "127.0.0.1"', 'ip = "0.0.0.0"'],
    ['the admin API', 'janus.transport.http.jcfg', 'admin_http = false', 'admin_http = true'],
    ['the WebSocket transport', 'janus.jcfg', 'libjanus_websockets.so', 'libjanus_none.so'],
    ['an RTSP camera beyond loopback', 'janus.plugin.streaming.jcfg', 'rtsp://127.0.0.1:', 'rtsp://192.168.1.20:'],
  ])('refuses %s', (_what, file, from, to) => {
    expect(() => checkJanusConfig(edited(file, from, to))).toThrow(/not network-safe/);
  });
});
