import type { EventSink } from '../events/stream.js';
import type { RunEvent } from '../events/types.js';
import type { Log } from '../log.js';
import { formatDuration } from '../policy/duration.js';
import { mark, paint } from '../color.js';

/**
 * The run's terminal checklist, one consumer of the event stream: one line per finished stage
 * with its time and what it found, and on a live terminal a line redrawn in place while a stage
 * works (probes waiting, the guard window's countdown).
 */
export class ChecklistSink implements EventSink {
  private readonly live: boolean;

  constructor(
    private readonly log: Log,
    json: boolean,
  ) {
    this.live = !json && Boolean(process.stdout.isTTY) && process.env.TERM !== 'dumb'; // a dumb terminal cannot redraw a line
  }

  private redraw(stage: string, text: string): void {
    if (this.live) process.stdout.write(`\x1b[2K  ${paint.dim('…')} ${stage}: ${text}\r`);
  }

  write(e: RunEvent): void {
    switch (e.type) {
      case 'stage.started':
        return this.redraw(e.stage, e.what);
      case 'probe.progress':
        return this.redraw(
          e.stage,
          `${e.running.length} probe(s) waiting for the server, at most ${Math.ceil(e.remainingMs / 1000)}s left`,
        );
      case 'guard.sample':
        return this.redraw(
          'guard',
          `${formatDuration(e.elapsedMs)} of ${formatDuration(e.windowMs)}, ${e.connections}/${e.connectionLimit} connections`,
        );
      case 'stage.finished': {
        if (this.live) process.stdout.write('\x1b[2K');
        const icon = e.skipped ? paint.dim('–') : mark(e.ok);
        this.log.info(`  ${icon} ${e.stage.padEnd(11)} ${formatDuration(e.ms).padStart(7)}  ${e.summary}`);
        return;
      }
      default:
        return; // the other events are for the record and the dashboard; the summary says the rest
    }
  }
}
