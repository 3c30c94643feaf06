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

export interface SourceLogLimits {
  /** Lines one source may log per window. */
  perSource: number;
  /** Lines all sources together may log per window. */
  total: number;
  windowMs: number;
}

export const DEFAULT_SOURCE_LOG_LIMITS: SourceLogLimits = { perSource: 10, total: 100, windowMs: 10_000 };

/**
 * Log lines caused by a remote peer (refused connections, IAM decisions, refused candidates),
 * rate-limited per source and in all, so a flood cannot fill the disk or bury the lines that
 * matter. What is held back is aggregated: once per window, one line per source says how many
 * lines were suppressed and shows the last one. A source is whatever the caller names (an IPv4
 * address or IPv6 /64, a user, a kid).
 */
export class SourceLog {
  private readonly windows = new Map<string, { start: number; lines: number; suppressed: number; last: string }>();
  private totalStart = 0;
  private totalLines = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly log: Logger,
    private readonly limits: SourceLogLimits = DEFAULT_SOURCE_LOG_LIMITS,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.timer = setInterval(() => this.flush(), Math.max(50, limits.windowMs / 4));
    this.timer.unref();
  }

  info(source: string, message: string): void {
    const t = this.now();
    if (t - this.totalStart >= this.limits.windowMs) {
      this.totalStart = t;
      this.totalLines = 0;
    }
    let w = this.windows.get(source);
    if (w && t - w.start >= this.limits.windowMs) {
      this.flush();
      w = undefined;
    }
    if (!w) {
      w = { start: t, lines: 0, suppressed: 0, last: '' };
      this.windows.set(source, w);
    }
    if (w.lines < this.limits.perSource && this.totalLines < this.limits.total) {
      w.lines++;
      this.totalLines++;
      this.log.info(message);
    } else {
      w.suppressed++;
      w.last = message;
    }
  }

  /** Ends windows that are over: their summaries are written (at most 20 sources by name), idle sources forgotten. */
  flush(): void {
    const t = this.now();
    const over: [string, { start: number; suppressed: number; last: string }][] = [];
    for (const [source, w] of this.windows) {
      if (t - w.start < this.limits.windowMs) continue;
      this.windows.delete(source);
      if (w.suppressed > 0) over.push([source, w]);
    }
    over.sort((a, b) => b[1].suppressed - a[1].suppressed);
    for (const [source, w] of over.slice(0, MAX_NAMED_SOURCES)) {
      const seconds = Math.max(1, Math.round((t - w.start) / 1000));
      this.log.warn(`${w.suppressed} more line(s) caused by ${source} suppressed in the last ${seconds} s; the last: ${w.last}`);
    }
    const rest = over.slice(MAX_NAMED_SOURCES);
    if (rest.length > 0) this.log.warn(`${rest.reduce((n, [, w]) => n + w.suppressed, 0)} more line(s) caused by ${rest.length} other source(s) suppressed`);
  }

  close(): void {
    clearInterval(this.timer);
    for (const w of this.windows.values()) w.start = -Infinity;
    this.flush();
  }
}

const MAX_NAMED_SOURCES = 20;
