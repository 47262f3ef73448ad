import type { Sink } from './sink.js';
import { eventLine, sampleLine, transitionLine } from './format.js';

/** The live view's stand-in off a TTY (pipes, log files, systemd): one line per sample, alert and event. */
export function plainLinesSink(write: (line: string) => void): Sink {
  return {
    sample: (s, firing) => write(sampleLine(s, firing.length)),
    transition: (t) => write(transitionLine(t)),
    event: (e) => write(eventLine(e)),
  };
}
