import { escapeTerminalText } from '../shared/terminal-text';

/** A daemon's log (lancam-device, lancam-relay): timestamped lines on stderr (stdout is for what people must read). */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export function createLogger(options: { quiet?: boolean } = {}): Logger {
  const line = (level: string, message: string) => {
    if (!options.quiet) process.stderr.write(`${new Date().toISOString()} ${level} ${escapeTerminalText(message)}\n`);
  };
  return { info: (m) => line('info', m), warn: (m) => line('warn', m) };
}
