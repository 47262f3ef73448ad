import { Option } from 'commander';
import { UsageError } from '../errors.js';
import { JournalSink } from '../events/journal-sink.js';
import { JsonLinesSink } from '../events/jsonl-sink.js';
import { EventStream } from '../events/stream.js';
import type { EventCommand } from '../events/types.js';
import type { StageContext } from '../stage.js';
import { ChecklistSink } from './checklist.js';

export const eventsOption = () =>
  new Option(
    '--events <file>',
    "append every event of the run (stages, changes, guard samples with each trigger's value and limit, alerts, outcome) to FILE as JSON lines",
  );

/**
 * The event stream of one command with its consumers: the journal (pgharden.events, which
 * `pgharden serve` follows), --events FILE, and for `run` the terminal checklist. Closed
 * (files flushed, journal rows written) when `body` ends, whatever way it ends.
 */
export async function withEvents<T>(
  command: EventCommand,
  ctx: StageContext,
  flags: { events?: string; json?: boolean; checklist?: boolean },
  body: (ctx: StageContext) => Promise<T>,
): Promise<T> {
  const stream = new EventStream(command, (m) => ctx.log.warn(m));
  if (flags.events) {
    try {
      stream.add(new JsonLinesSink(flags.events));
    } catch (err) {
      throw new UsageError(
        `--events ${flags.events}: cannot open it for writing (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); nothing was changed`,
      );
    }
  }
  if (flags.checklist) stream.add(new ChecklistSink(ctx.log, Boolean(flags.json)));
  stream.add(new JournalSink(ctx.target, (m) => ctx.log.warn(m)));
  try {
    return await body({ ...ctx, events: stream });
  } finally {
    await stream.close();
  }
}
