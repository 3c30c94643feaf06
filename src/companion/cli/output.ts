/**
 * CLI output: human text by default, JSON with --json. Failures are one line on stderr
 * (`lancam: …`) or, with --json, `{"error": {"status": …, "message": "…"}}` on stdout.
 */
import { CompanionError } from '../errors';
import { escapeTerminalText } from '../../shared/terminal-text';

export interface Output {
  json: boolean;
  result(human: string, json: unknown): void;
  info(line: string): void;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    result(human, value) {
      // Names come from cameras and other users: no control character reaches the terminal.
      process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${escapeTerminalText(human, { keepNewlines: true })}\n`);
    },
    info(line) {
      if (!json) process.stderr.write(`${escapeTerminalText(line, { keepNewlines: true })}\n`);
    },
  };
}

export function reportFailure(err: unknown, json: boolean): void {
  const status = err instanceof CompanionError ? err.status : 'error';
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
  if (json) process.stdout.write(`${JSON.stringify({ error: { status, message } })}\n`);
  else process.stderr.write(`lancam: ${escapeTerminalText(message)}\n`);
}

/** A plain table with a header row; columns padded to the widest cell. */
export function table(header: string[], rows: string[][]): string {
  // A cell is one line: a newline inside a name must not forge a row.
  rows = rows.map((r) => r.map((c) => escapeTerminalText(c)));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}
