/**
 * The audio half of a viewer's peer on the H.264 stack: an Opus `sendonly` track (RFC 7587, one
 * Opus packet per RTP packet, 48 kHz clock) in the same PeerConnection as the video, with RTCP
 * sender reports (libdatachannel's RtcpSrReporter, about one a second: they tie the RTP
 * timestamps of both tracks to one wall clock, which is what a browser lip-syncs by). Both tracks
 * carry the same CNAME and stream id, so the browser puts them in one MediaStream and syncs them.
 *
 * The viewer's answer decides: a viewer that rejects the audio m-line (or offers none) gets the
 * video alone; the track then never opens and nothing is sent on it.
 */
import type * as NdcModule from 'node-datachannel';
import type { AudioPacket, AudioViewer, SharedAudioStream } from './audio-stream';

type Ndc = typeof NdcModule;
type PeerConnection = InstanceType<Ndc['PeerConnection']>;

export const OPUS_PAYLOAD_TYPE = 111;
export const AUDIO_MID = 'audio';

/**
 * Whether a viewer's description takes the audio: an `m=audio` section with a port other than 0
 * whose direction lets the viewer receive (recvonly or sendrecv; none given means sendrecv).
 */
export function remoteAcceptsAudio(sdp: string, mid = AUDIO_MID): boolean {
  for (const section of sdp.split(/\r?\n(?=m=)/)) {
    if (!section.startsWith('m=audio ')) continue;
    const m = /^a=mid:(\S+)/m.exec(section);
    if (m && m[1] !== mid) continue;
    if (/^m=audio 0 /.test(section)) return false;
    return !/^a=(sendonly|inactive)\s*$/m.test(section);
  }
  return false;
}

export interface OpusSender {
  /** True once the viewer accepted the audio and the track is open. */
  readonly open: boolean;
  close(): void;
}

/** Adds the audio track to `pc` (before the offer is made) and joins the shared audio stream. */
export async function addOpusTrack(ndc: Ndc, pc: PeerConnection, stream: SharedAudioStream, options: { ssrc: number; cname: string; msid: string }): Promise<OpusSender> {
  const media = new ndc.Audio(AUDIO_MID, 'SendOnly');
  // libdatachannel's default Opus profile (minptime=10, useinbandfec=1, stereo allowed).
  media.addOpusCodec(OPUS_PAYLOAD_TYPE);
  media.addSSRC(options.ssrc, options.cname, options.msid, 'audio');
  const track = pc.addTrack(media);
  const config = new ndc.RtpPacketizationConfig(options.ssrc, options.cname, OPUS_PAYLOAD_TYPE, 48000);
  const packetizer = new ndc.RtpPacketizer(config);
  const reporter = new ndc.RtcpSrReporter(config);
  packetizer.addToChain(reporter);
  track.setMediaHandler(packetizer);
  let closed = false;
  // libdatachannel opens the track with the transport even when the viewer's answer rejected
  // the audio (bundled on one transport): the answer itself is checked before anything is sent.
  let checkedSdp: string | undefined;
  let accepted = false;
  const acceptedNow = (): boolean => {
    const sdp = pc.remoteDescription()?.sdp;
    if (sdp !== checkedSdp) {
      checkedSdp = sdp;
      accepted = sdp !== undefined && remoteAcceptsAudio(sdp);
    }
    return accepted;
  };
  const viewer: AudioViewer = {
    onPacket(packet: AudioPacket) {
      if (closed || !track.isOpen() || !acceptedNow()) return;
      config.timestamp = packet.timestamp;
      try {
        track.sendMessageBinary(packet.data);
      } catch {
        // A track closing under us: the peer's state callback ends the session.
      }
    },
  };
  await stream.acquire(viewer);
  // Held: a collected node-datachannel wrapper stops delivering (see ndc-media.ts).
  const held = { media, track, config, packetizer, reporter };
  return {
    get open() {
      return !closed && held.track.isOpen() && acceptedNow();
    },
    close() {
      if (closed) return;
      closed = true;
      stream.release(viewer);
      try {
        held.track.close();
      } catch {
        // already closed
      }
    },
  };
}
