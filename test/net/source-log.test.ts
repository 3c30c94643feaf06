import { describe, expect, it } from 'vitest';
import { SourceLog, type Logger } from '../../src/net/log';

function capture(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`) };
}

describe('SourceLog', () => {
  it('lets a few lines per source through, then aggregates the rest into one line per window', () => {
    let now = 0;
    const log = capture();
    const limited = new SourceLog(log, { perSource: 3, total: 100, windowMs: 10_000 }, () => now);
    for (let i = 0; i < 1000; i++) limited.info('10.0.0.1', `denied #${i}`);
    limited.info('10.0.0.2', 'another source still logs');
    expect(log.lines).toEqual(['info denied #0', 'info denied #1', 'info denied #2', 'info another source still logs']);
    now = 10_000;
    limited.flush();
    expect(log.lines.at(-1)).toBe('warn 997 more line(s) caused by 10.0.0.1 suppressed in the last 10 s; the last: denied #999');
    limited.info('10.0.0.1', 'a new window');
    expect(log.lines.at(-1)).toBe('info a new window');
    limited.close();
  });

  it('caps all sources together, and names at most 20 sources in the summary', () => {
    let now = 0;
    const log = capture();
    const limited = new SourceLog(log, { perSource: 2, total: 10, windowMs: 1000 }, () => now);
    for (let s = 0; s < 50; s++) for (let i = 0; i < 5; i++) limited.info(`10.0.1.${s}`, `x${s}.${i}`);
    expect(log.lines.filter((l) => l.startsWith('info'))).toHaveLength(10);
    now = 1000;
    limited.flush();
    const warns = log.lines.filter((l) => l.startsWith('warn'));
    expect(warns).toHaveLength(21);
    expect(warns.at(-1)).toMatch(/caused by 30 other source\(s\) suppressed/);
    limited.close();
  });
});
