/**
 * QR codes for the terminal (qrcode-terminal, half-block characters), so a pairing string can be
 * scanned from a phone or another machine's camera.
 */
import { createRequire } from 'node:module';

interface QrcodeTerminal {
  generate(input: string, options: { small?: boolean }, callback: (output: string) => void): void;
}

const qrcode = createRequire(import.meta.url)('qrcode-terminal') as QrcodeTerminal;

/** The QR code of `text` as lines of text (quiet zone included). */
export function terminalQr(text: string): string {
  let out = '';
  qrcode.generate(text, { small: true }, (output) => {
    out = output;
  });
  return out;
}
