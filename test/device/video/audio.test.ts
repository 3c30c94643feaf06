/**
 * The audio building blocks with real ffmpeg where one is involved: the Ogg Opus reader on
 * ffmpeg's own output, Opus packet durations from the TOC byte, the pattern's tone loop, the
 * `--audio` device parser, the ffmpeg command lines (copy Opus, transcode the rest once), and the
 * check that a viewer's answer takes the audio.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { audioCodecFromProbe, audioInputArgs, audioOutputArgs, parseAudioDevice } from '../../../src/device/video/audio/ffmpeg-audio-source';
import { OggOpusReader, opusPacketSamples, type OpusPacket } from '../../../src/device/video/audio/ogg-opus';
import { remoteAcceptsAudio } from '../../../src/device/video/audio/opus-track';
import { encodeToneLoop, PatternToneSource } from '../../../src/device/video/audio/pattern-tone-source';
import { oggPage, audioCodecOf } from '../../../src/companion/video/audio-receiver';
import type { AudioPacket } from '../../../src/device/video/audio/audio-stream';

function ffmpegOpus(args: string[]): Promise<{ packets: OpusPacket[]; preSkip: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args, '-f', 'ogg', 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const packets: OpusPacket[] = [];
    const reader = new OggOpusReader((p) => packets.push(p));
    child.stdout.on('data', (c: Buffer) => reader.push(c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve({ packets, preSkip: reader.preSkip }) : reject(new Error(`ffmpeg exit ${code}`))));
  });
}

describe('Ogg Opus from ffmpeg', () => {
  it('cuts ffmpeg\'s Ogg into Opus packets whose durations add up to the input', async () => {
    // 2 s of a sine, 20 ms frames, and again with 60 ms frames (packets spanning more frames).
    for (const ms of [20, 60]) {
      const { packets, preSkip } = await ffmpegOpus(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2:sample_rate=48000', '-c:a', 'libopus', '-frame_duration', String(ms)]);
      expect(packets.every((p) => p.samples === ms * 48)).toBe(true);
      const total = packets.reduce((n, p) => n + p.samples, 0);
      // The encoder pads: the total covers the input plus pre-skip, within one packet.
      expect(total).toBeGreaterThanOrEqual(96_000);
      expect(total - 96_000 - preSkip).toBeLessThan(ms * 48);
    }
  });

  it('refuses a stream that is not Ogg, and a packet that never ends', () => {
    expect(() => new OggOpusReader(() => undefined).push(Buffer.from('RIFF0000WAVEfmt 0000000000000000000000'))).toThrow(/not an Ogg stream/);
    const reader = new OggOpusReader(() => undefined);
    // A page of 255 segments of 255 bytes, continued over and over: more than 64 KB in one packet.
    const body = Buffer.alloc(255 * 255, 1);
    const page = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(22), Buffer.from([255]), Buffer.alloc(255, 255), body]);
    page[5] = 1;
    expect(() => {
      for (let i = 0; i < 3; i++) reader.push(Buffer.from(page));
    }).toThrow(/over 65536 bytes/);
  });

  it('reads each packet\'s duration from its TOC byte (RFC 6716 3.1)', () => {
    expect(opusPacketSamples(Uint8Array.of(0xf8))).toBe(960); // CELT FB 20 ms, one frame
    expect(opusPacketSamples(Uint8Array.of((1 << 3) | 1))).toBe(1920); // SILK NB 20 ms, two frames
    expect(opusPacketSamples(Uint8Array.of((16 << 3) | 3, 4))).toBe(480); // CELT 2.5 ms x 4
    expect(opusPacketSamples(Uint8Array.of((3 << 3) | 3, 3))).toBe(0); // 3 x 60 ms: over 120 ms, invalid
    expect(opusPacketSamples(Uint8Array.of())).toBe(0);
  });

  it('round-trips the CLI\'s own Ogg pages through ffmpeg\'s Ogg demuxer', async () => {
    const loop = await encodeToneLoop('ffmpeg');
    expect(loop.packets).toHaveLength(50);
    const head = Buffer.alloc(19);
    head.write('OpusHead', 0, 'latin1');
    head[8] = 1;
    head[9] = 1;
    head.writeUInt32LE(48000, 12);
    const pages = [oggPage(head, { serial: 7, sequence: 0, granule: 0n, first: true })];
    const tags = Buffer.concat([Buffer.from('OpusTags'), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0])]);
    pages.push(oggPage(tags, { serial: 7, sequence: 1, granule: 0n }));
    loop.packets.forEach((p, i) => pages.push(oggPage(p, { serial: 7, sequence: 2 + i, granule: BigInt((i + 1) * 960) })));
    const back: OpusPacket[] = [];
    const reader = new OggOpusReader((p) => back.push(p));
    reader.push(Buffer.concat(pages));
    expect(back.map((p) => p.data.toString('hex'))).toEqual(loop.packets.map((p) => p.toString('hex')));
  });
});

describe('the pattern\'s tone', () => {
  it('sends 50 packets a second, stamped from the capture clock: the beep\'s packet at each whole second', async () => {
    const start = 1_700_000_000_010; // 10 ms past a whole second
    let now = start;
    const source = new PatternToneSource('ffmpeg', () => now);
    const packets: AudioPacket[] = [];
    source.on('packet', (p) => packets.push(p));
    const running = new Promise<void>((resolve) => source.on('status', (s) => s.state === 'running' && resolve()));
    source.start();
    await running;
    // 1.2 s of a fake capture clock, in 20 ms steps (the source sleeps on real timers between them).
    for (let i = 0; i < 60; i++) {
      now += 20;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await source.stop();
    expect(packets.length).toBeGreaterThanOrEqual(55);
    expect(packets.every((p) => p.samples === 960)).toBe(true);
    for (let i = 1; i < packets.length; i++) expect((packets[i]!.timestamp - packets[i - 1]!.timestamp) >>> 0).toBe(960);
    // The beep's packets are the large ones (silence is 3 bytes): the first of them is the slot of
    // the whole second the clock started in, stamped slot * 960 less the encoder's pre-skip.
    const loud = packets.filter((p) => p.data.length > 50);
    expect(loud.length).toBeGreaterThanOrEqual(4);
    const loop = await encodeToneLoop('ffmpeg');
    const secondSlot = (start - 10) / 20; // the source starts in the slot of that whole second
    expect(loud[0]!.timestamp).toBe((secondSlot * 960 - loop.preSkip) >>> 0);
  });
});

describe('choosing and opening the sound', () => {
  it('parses --audio devices and refuses what is not one', () => {
    expect(parseAudioDevice('hw:1,0')).toEqual({ kind: 'alsa', device: 'hw:1,0' });
    expect(parseAudioDevice('pulse')).toEqual({ kind: 'pulse', device: 'default' });
    expect(parseAudioDevice('pulse:alsa_input.usb-mic')).toEqual({ kind: 'pulse', device: 'alsa_input.usb-mic' });
    for (const bad of ['', 'hw:1,0; rm -rf /', '-f lavfi', 'x'.repeat(200), 'a b']) expect(() => parseAudioDevice(bad)).toThrow(/--audio must be/);
    expect(audioInputArgs({ kind: 'alsa', device: 'hw:1,0' })).toEqual(['-hide_banner', '-nostdin', '-f', 'alsa', '-i', 'hw:1,0']);
    expect(audioInputArgs({ kind: 'source', input: 'rtsp://cam/x' })).toContain('-rtsp_transport');
  });

  it('copies Opus and transcodes anything else once', () => {
    expect(audioOutputArgs('opus')).toEqual(expect.arrayContaining(['-c:a', 'copy']));
    for (const codec of ['aac', 'pcm_alaw', 'pcm_mulaw', 'pcm']) {
      const args = audioOutputArgs(codec);
      expect(args.slice(args.indexOf('-c:a'), args.indexOf('-c:a') + 2)).toEqual(['-c:a', 'libopus']);
    }
    expect(audioCodecFromProbe('  Stream #0:1: Audio: aac (LC), 48000 Hz, mono, fltp\n')).toBe('aac');
    expect(audioCodecFromProbe('  Stream #0:0: Video: h264 (Constrained Baseline), yuv420p\n')).toBeNull();
  });

  it('sends sound only to a viewer whose answer takes it', () => {
    const answer = (audio: string) => `v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:video\r\na=recvonly\r\n${audio}`;
    expect(remoteAcceptsAudio(answer('m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:audio\r\na=recvonly\r\n'))).toBe(true);
    expect(remoteAcceptsAudio(answer('m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:audio\r\n'))).toBe(true);
    expect(remoteAcceptsAudio(answer('m=audio 0 UDP/TLS/RTP/SAVPF 111\r\na=mid:audio\r\n'))).toBe(false);
    expect(remoteAcceptsAudio(answer('m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:audio\r\na=inactive\r\n'))).toBe(false);
    expect(remoteAcceptsAudio(answer(''))).toBe(false);
    expect(audioCodecOf(answer('m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:audio\r\na=rtpmap:111 opus/48000/2\r\n'))).toBe('opus');
    expect(audioCodecOf(answer(''))).toBeUndefined();
  });
});
