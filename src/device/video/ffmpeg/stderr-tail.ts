/** Keeps the last lines ffmpeg wrote to stderr, for error messages (bounded in lines and length). */
export class StderrTail {
  private lines: string[] = [];
  private partial = '';

  constructor(
    private readonly maxLines = 20,
    private readonly maxLineLength = 500,
    private readonly redact: (line: string) => string = (line) => line,
  ) {}

  push(chunk: string): void {
    const parts = (this.partial + chunk).split(/\r?\n|\r/);
    this.partial = (parts.pop() ?? '').slice(-this.maxLineLength * 2);
    for (const part of parts) this.add(part);
  }

  /** The last non-empty lines, oldest first. */
  last(n = this.maxLines): string[] {
    const all = this.partial.trim() ? [...this.lines, this.clip(this.partial)] : this.lines;
    return all.slice(-n);
  }

  /** One line for a status message: the last few lines joined, or '' when ffmpeg said nothing. */
  summary(n = 3): string {
    return this.last(n).join(' | ');
  }

  private add(line: string): void {
    const trimmed = line.trim();
    if (!trimmed) return;
    this.lines.push(this.clip(trimmed));
    if (this.lines.length > this.maxLines) this.lines.splice(0, this.lines.length - this.maxLines);
  }

  private clip(line: string): string {
    // "[tcp @ 0x55a190dc5980] Connection refused" -> "[tcp] Connection refused"
    const clean = this.redact(line.trim()).replace(/ @ 0x[0-9a-f]+\]/g, ']');
    return clean.length > this.maxLineLength ? `${clean.slice(0, this.maxLineLength)}…` : clean;
  }
}
