/** What ffprobe (a real decoder's parser) makes of an Annex B H.264 byte stream: codec and size. */
import { spawn } from 'node:child_process';

export function decodeAnnexB(data: Buffer): Promise<{ codec: string; width: number; height: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffprobe', ['-hide_banner', '-loglevel', 'error', '-f', 'h264', '-i', 'pipe:0', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height', '-of', 'json'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.stdin.on('error', () => undefined);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const stream = (JSON.parse(out || '{}') as { streams?: { codec_name: string; width: number; height: number }[] }).streams?.[0];
      if (code !== 0 || !stream) reject(new Error(`ffprobe could not read the stream (code ${code}): ${err}`));
      else resolve({ codec: stream.codec_name, width: stream.width, height: stream.height });
    });
    child.stdin.end(data);
  });
}
