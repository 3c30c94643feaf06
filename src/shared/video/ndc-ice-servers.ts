/**
 * ICE servers in libdatachannel's (node-datachannel's) form, for both ends that use it: the
 * camera's H.264 stack and the CLI viewer. Pure: no node-datachannel import here.
 */
import type { IceServer } from '../protocol/webrtc-api';

/** node-datachannel's IceServer (structurally). */
export interface NdcIceServer {
  hostname: string;
  port: number;
  username?: string;
  password?: string;
  relayType?: 'TurnUdp' | 'TurnTcp' | 'TurnTls';
}

/** Our ICE server entries ({urls, username, credential}) in libdatachannel's form. */
export function toNdcIceServers(servers: IceServer[]): NdcIceServer[] {
  const out: NdcIceServer[] = [];
  for (const server of servers) {
    for (const url of Array.isArray(server.urls) ? server.urls : [server.urls]) {
      const m = /^(stuns?|turns?):(?:\/\/)?(\[[^\]]+\]|[^:?/]+)(?::(\d+))?(?:\?transport=(udp|tcp))?$/i.exec(url);
      if (!m) continue;
      const scheme = m[1]!.toLowerCase();
      const hostname = m[2]!.replace(/^\[|\]$/g, '');
      const secure = scheme.endsWith('s');
      const port = m[3] ? Number(m[3]) : secure ? 5349 : 3478;
      if (scheme.startsWith('stun')) {
        out.push({ hostname, port });
        continue;
      }
      const relayType = secure ? 'TurnTls' : m[4]?.toLowerCase() === 'tcp' ? 'TurnTcp' : 'TurnUdp';
      out.push({ hostname, port, relayType, ...(server.username !== undefined ? { username: server.username } : {}), ...(server.credential !== undefined ? { password: server.credential } : {}) });
    }
  }
  return out;
}

