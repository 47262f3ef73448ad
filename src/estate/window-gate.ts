import { BlockedError } from '../errors.js';
import type { StageContext } from '../stage.js';
import { inWindow, parseWindow } from './window.js';

/** What the window gate decided, for the journal and the report. */
export interface WindowDecision {
  window: string;
  inside: boolean;
  /** --outside-window "reason": the person's reason for changing outside the window. */
  override?: string;
}

/**
 * Before anything changes: inside the environment's maintenance window, or outside it with a
 * recorded reason; otherwise BlockedError (exit 4). No window configured: null.
 */
export function checkWindow(ctx: StageContext, outsideWindowReason: string | undefined, now = new Date()): WindowDecision | null {
  const text = ctx.environment?.window;
  if (!text) return null;
  const parsed = parseWindow(text);
  if (!parsed.ok) throw new BlockedError(`window ${JSON.stringify(text)}: ${parsed.error}`); // the schema already refuses this
  if (inWindow(parsed.parts, now)) return { window: text, inside: true };
  if (outsideWindowReason) {
    ctx.log.warn(`outside the maintenance window (${text}); going ahead because: ${outsideWindowReason}`);
    return { window: text, inside: false, override: outsideWindowReason };
  }
  throw new BlockedError(
    `outside the maintenance window of ${ctx.environment!.name} (${text}; now ${now.toISOString()}): nothing was changed. ` +
      'Wait for the window, or pass --outside-window "reason" (the reason is recorded with the run).',
  ).withDetails({ window: text, now: now.toISOString() });
}
