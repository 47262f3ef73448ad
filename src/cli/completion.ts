import type { Command } from 'commander';

/** Words to complete: every command path (`migrate lint`) with its options, and the global options. */
export interface CompletionTree {
  globals: string[];
  commands: { path: string; options: string[]; subcommands: string[] }[];
}

export function completionTree(program: Command): CompletionTree {
  const flags = (c: Command) => c.options.flatMap((o) => [o.short, o.long].filter((f): f is string => Boolean(f)));
  const commands: CompletionTree['commands'] = [];
  const walk = (c: Command, prefix: string[]) => {
    for (const sub of c.commands) {
      const path = [...prefix, sub.name()];
      commands.push({ path: path.join(' '), options: [...flags(sub), '--help'], subcommands: sub.commands.map((s) => s.name()) });
      walk(sub, path);
    }
  };
  walk(program, []);
  return { globals: [...flags(program), '--help'], commands };
}

/** A static script for one shell: the words are listed in it, so completing never starts node. */
export function completionScript(shell: 'bash' | 'zsh' | 'fish', tree: CompletionTree): string {
  const top = tree.commands.filter((c) => !c.path.includes(' ')).map((c) => c.path);
  if (shell === 'fish') {
    const lines = [
      '# pgharden completion for fish: pgharden completion fish > ~/.config/fish/completions/pgharden.fish',
      'complete -c pgharden -f',
    ];
    lines.push(`complete -c pgharden -n '__fish_use_subcommand' -a '${top.join(' ')}'`);
    for (const g of tree.globals.filter((f) => f.startsWith('--'))) lines.push(`complete -c pgharden -l ${g.slice(2)}`);
    for (const c of tree.commands) {
      const words = c.path.split(' ');
      const cond = `__fish_seen_subcommand_from ${words.at(-1)}`;
      if (c.subcommands.length) lines.push(`complete -c pgharden -n '${cond}' -a '${c.subcommands.join(' ')}'`);
      for (const o of c.options.filter((f) => f.startsWith('--'))) lines.push(`complete -c pgharden -n '${cond}' -l ${o.slice(2)}`);
    }
    return lines.join('\n') + '\n';
  }
  // bash (zsh runs the same function through bashcompinit).
  const cases = tree.commands.map((c) => `    "${c.path}") words="${[...c.subcommands, ...c.options, ...tree.globals].join(' ')}" ;;`);
  const body = `_pgharden() {
  local cur path="" w words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  # The command path so far: the words that are command names, in order.
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$w" in -*) ;; *) case " $(_pgharden_children "$path") " in *" $w "*) path="\${path:+$path }$w" ;; esac ;; esac
  done
  case "$path" in
    "") words="${[...top, ...tree.globals].join(' ')}" ;;
${cases.join('\n')}
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
_pgharden_children() {
  case "$1" in
    "") echo "${top.join(' ')}" ;;
${tree.commands
  .filter((c) => c.subcommands.length)
  .map((c) => `    "${c.path}") echo "${c.subcommands.join(' ')}" ;;`)
  .join('\n')}
  esac
}
complete -o default -F _pgharden pgharden
`;
  if (shell === 'zsh')
    return `# pgharden completion for zsh: pgharden completion zsh > ~/.zfunc/_pgharden, or eval "$(pgharden completion zsh)"\nautoload -U +X bashcompinit && bashcompinit\n${body}`;
  return `# pgharden completion for bash: eval "$(pgharden completion bash)", or save it in /etc/bash_completion.d/pgharden\n${body}`;
}
