import { InvalidArgumentError, Option } from 'commander';
import { formatDuration, parseDuration } from '../policy/duration.js';

/** commander parser for `--lock-wait 30s` style options (milliseconds). */
export function durationOption(value: string): number {
  const ms = parseDuration(value);
  if (ms === null) throw new InvalidArgumentError(`"${value}" is not a duration: write e.g. 30s, 500ms, 2m`);
  return ms;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`"${value}" is not a positive whole number`);
  return n;
}

/** A duration flag whose default shows in --help as `10s`, not `10000`. */
export const durationFlag = (flags: string, description: string, ms: number): Option =>
  new Option(flags, description).argParser(durationOption).default(ms, formatDuration(ms));
