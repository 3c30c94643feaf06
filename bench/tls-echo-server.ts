/**
 * The baseline for bench/connect.ts: a tiny TLS 1.3 echo server in its own process (as the
 * device is), on 127.0.0.1 only. Run by connect.ts as `node --import tsx bench/tls-echo-server.ts`
 * with the P-256 key and self-signed certificate (PEM) in LANCAM_BENCH_KEY / LANCAM_BENCH_CERT.
 *
 * Two listeners with the same key and certificate:
 *   mutual       requestCert: true, like the device's ChannelServer (the client sends its
 *                certificate and proves its key; the server fingerprints it, as the device does)
 *   server-auth  requestCert: false (only the server authenticates)
 * Prints "mutual <port>" and "server-auth <port>" lines, then "ready". Exits on SIGTERM or when
 * its stdin closes (so it never outlives the benchmark).
 */
import tls from 'node:tls';
import { fingerprintOfCertificate } from '../src/net/keys';

const key = process.env.LANCAM_BENCH_KEY;
const cert = process.env.LANCAM_BENCH_CERT;
if (!key || !cert) {
  process.stderr.write('tls-echo-server: LANCAM_BENCH_KEY and LANCAM_BENCH_CERT must hold PEM key and certificate\n');
  process.exit(2);
}

function echoServer(mutual: boolean): tls.Server {
  const server = tls.createServer(
    { key, cert, minVersion: 'TLSv1.3', requestCert: mutual, rejectUnauthorized: false },
    (socket) => {
      if (mutual) {
        const peer = socket.getPeerX509Certificate();
        if (!peer) return void socket.destroy();
        fingerprintOfCertificate(peer); // the device computes the client's fingerprint too
      }
      socket.on('data', (data) => socket.write(data));
      socket.on('end', () => socket.end());
      socket.on('error', () => socket.destroy());
    },
  );
  server.on('tlsClientError', () => undefined);
  return server;
}

function listen(server: tls.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (!address || typeof address === 'string') return reject(new Error('no TCP address'));
      resolve(address.port);
    });
  });
}

const servers = { mutual: echoServer(true), 'server-auth': echoServer(false) };
for (const [name, server] of Object.entries(servers)) process.stdout.write(`${name} ${await listen(server)}\n`);
process.stdout.write('ready\n');

const stop = (): void => {
  for (const server of Object.values(servers)) server.close();
  setTimeout(() => process.exit(0), 200).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
