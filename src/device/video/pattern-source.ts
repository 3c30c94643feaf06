/**
 * The built-in test pattern as a frame source: frames at a steady rate, each carrying its frame
 * number and capture time in a machine-readable strip (see src/shared/video/test-pattern.ts), so
 * a viewer can measure glass-to-glass latency from the pixels.
 */
import { EventEmitter } from 'node:events';
import { TestPattern } from '../../shared/video/test-pattern';
import type { RawFrame, SourceStatus } from './capture';

export interface PatternSourceEvents {
  frame: [RawFrame];
  status: [SourceStatus];
}

export class PatternSource extends EventEmitter<PatternSourceEvents> {
  readonly description: string;
  private readonly pattern: TestPattern;
  private timer: NodeJS.Timeout | undefined;
  private frameNumber = 0;
  private startedAt = 0;

  constructor(
    readonly width: number,
    readonly height: number,
    readonly fps: number,
  ) {
    super();
    this.pattern = new TestPattern(width, height);
    this.description = `test pattern ${width}x${height}@${fps}`;
  }

  start(): void {
    if (this.timer) return;
    this.startedAt = performance.now();
    this.frameNumber = 0;
    this.emit('status', { state: 'running', message: 'generating frames' });
    this.tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.emit('status', { state: 'stopped', message: 'no viewers' });
  }

  /** Renders one frame, then schedules the next against the start time (no drift). */
  private tick(): void {
    const frame = this.pattern.render(this.frameNumber, Date.now());
    this.emit('frame', frame);
    this.frameNumber++;
    const due = this.startedAt + (this.frameNumber * 1000) / this.fps;
    this.timer = setTimeout(() => this.tick(), Math.max(0, due - performance.now()));
  }
}
