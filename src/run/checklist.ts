import type { Log } from '../log.js';
import { formatDuration } from '../policy/duration.js';
import { mark, paint } from '../color.js';

export interface StageRecord {
  stage: string;
  ok: boolean;
  skipped?: boolean;
  ms: number;
  summary: string;
}

/** The run's live checklist: one line per stage with its time and what it found. */
export class Checklist {
  readonly stages: StageRecord[] = [];
  private readonly live: boolean;

  constructor(private readonly log: Log, json: boolean) {
    this.live = !json && Boolean(process.stdout.isTTY) && process.env.TERM !== 'dumb'; // a dumb terminal cannot redraw a line
  }

  start(stage: string, what: string): void {
    if (this.live) process.stdout.write(`  ${paint.dim('…')} ${stage}: ${what}\r`);
  }

  /** A line that updates in place on a terminal (guard countdown); silent elsewhere. */
  progress(stage: string, text: string): void {
    if (this.live) process.stdout.write(`\x1b[2K  ${paint.dim('…')} ${stage}: ${text}\r`);
  }

  done(record: StageRecord): void {
    this.stages.push(record);
    if (this.live) process.stdout.write('\x1b[2K');
    const icon = record.skipped ? paint.dim('–') : mark(record.ok);
    this.log.info(`  ${icon} ${record.stage.padEnd(11)} ${formatDuration(record.ms).padStart(7)}  ${record.summary}`);
  }
}
