/**
 * Snapshots: one decoded frame from a camera, written as a PNG.
 */
import { writeFile } from 'node:fs/promises';
import { PNG } from 'pngjs';
import { i420ToRgba } from '../../shared/video/i420';
import type { I420Frame } from './camera-viewer';

export function encodePng(frame: I420Frame): Buffer {
  const png = new PNG({ width: frame.width, height: frame.height });
  const rgba = i420ToRgba(frame);
  png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  return PNG.sync.write(png);
}

export async function writePng(frame: I420Frame, file: string): Promise<void> {
  await writeFile(file, encodePng(frame));
}
