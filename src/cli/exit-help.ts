import type { Command } from 'commander';

/** The exit codes every command shares (errors.ts), under each command's own 0/1/4 in its --help. */
export const COMMON_EXIT_CODES = `
Every command also exits 2 bad usage or policy (nothing changed) · 3 cannot connect (retryable)
· 5 the database refused a statement (not retryable as is) · 70 internal error (a bug;
PGHARDEN_DEBUG=1 prints the stack) · 130 interrupted. (--once checks: Nagios 0/1/2/3 only.)`;

/** Add the shared exit codes to a command's help and to its subcommands'. */
export function addExitCodesHelp(command: Command): void {
  command.addHelpText('after', COMMON_EXIT_CODES);
  for (const sub of command.commands) addExitCodesHelp(sub);
}
