// Asks a TURN server for a relay allocation with the given credentials, using real WebRTC
// (@roamhq/wrtc, relay-only ICE policy), and prints {"relay": true|false, "candidates": [...]}.
// Usage: node turn-probe.mjs '{"urls": "...", "username": "...", "credential": "..."}'
import wrtc from '@roamhq/wrtc';

const server = JSON.parse(process.argv[2]);
const pc = new wrtc.RTCPeerConnection({ iceServers: [server], iceTransportPolicy: 'relay' });
const candidates = [];
pc.onicecandidate = ({ candidate }) => {
  if (candidate) candidates.push(candidate.candidate);
};
pc.createDataChannel('probe');
await pc.setLocalDescription(await pc.createOffer());
await new Promise((resolve) => {
  const timer = setTimeout(resolve, 5000);
  pc.onicegatheringstatechange = () => {
    if (pc.iceGatheringState === 'complete') {
      clearTimeout(timer);
      resolve();
    }
  };
});
pc.close();
console.log(JSON.stringify({ relay: candidates.some((c) => c.includes(' typ relay')), candidates }));
process.exit(0);
