// Runs inside a test-owned network namespace: opens channels to a lancam-device from the given
// IPv6 source addresses, each with a fresh certificate the camera does not know, keeps them open,
// and prints (one JSON line) how many are still open per source address after `holdMs`.
// argv: host port holdMs certFile keyFile addr:count [addr:count ...]
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

const [host, port, holdMs, certFile, keyFile, ...specs] = process.argv.slice(2);
const cert = readFileSync(certFile, 'utf8');
const key = readFileSync(keyFile, 'utf8');
const open = new Map();
const sockets = [];
for (const spec of specs) {
  const i = spec.lastIndexOf(':');
  const address = spec.slice(0, i);
  const count = Number(spec.slice(i + 1));
  open.set(address, 0);
  for (let n = 0; n < count; n++) {
    const ws = new WebSocket(`wss://[${host}]:${port}/lancam/v1`, { cert, key, rejectUnauthorized: false, perMessageDeflate: false, localAddress: address });
    ws.on('error', () => undefined);
    sockets.push({ ws, address });
    // One at a time, so "oldest" is well defined for the camera.
    await new Promise((resolve) => {
      ws.once('open', resolve);
      ws.once('close', resolve);
      setTimeout(resolve, 3000);
    });
  }
}
await new Promise((resolve) => setTimeout(resolve, Number(holdMs)));
for (const { ws, address } of sockets) if (ws.readyState === WebSocket.OPEN) open.set(address, open.get(address) + 1);
process.stdout.write(`${JSON.stringify(Object.fromEntries(open))}\n`);
for (const { ws } of sockets) ws.terminate();
process.exit(0);
