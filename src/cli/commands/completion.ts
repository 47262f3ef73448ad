import { Argument, Command } from 'commander';
import { completionScript, completionTree } from '../completion.js';

export function register(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh', 'fish']))
    .addHelpText(
      'after',
      `
  bash:  eval "$(pgharden completion bash)"      (or save it in /etc/bash_completion.d/pgharden)
  zsh:   eval "$(pgharden completion zsh)"
  fish:  pgharden completion fish > ~/.config/fish/completions/pgharden.fish`,
    )
    .action(async (shell: 'bash' | 'zsh' | 'fish') => {
      // Every command, fully registered on a private program, so the script lists their options too.
      const { COMMANDS } = await import('./index.js');
      const full = new Command('pgharden');
      for (const o of program.options) full.addOption(o);
      for (const entry of COMMANDS) (await entry.load()).register(full);
      process.stdout.write(completionScript(shell, completionTree(full)));
    });
}
