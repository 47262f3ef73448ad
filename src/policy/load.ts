import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { PolicyError } from '../errors.js';
import type { Policy } from './schema.js';

export const BUILTIN_POLICIES_DIR = fileURLToPath(new URL('../../policies/', import.meta.url));
export const DEFAULT_POLICY = 'ticket-010';

/** Load and validate a policy: a built-in name (`ticket-010`) or a YAML file path. */
export async function loadPolicy(source: string = DEFAULT_POLICY): Promise<Policy> {
  const file = /^[a-z0-9-]+$/.test(source) && !source.endsWith('.yaml') ? path.join(BUILTIN_POLICIES_DIR, `${source}.yaml`) : source;
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new PolicyError(
      `cannot read policy ${source}: ${missing ? `no such file; the built-in policies are: ${builtinPolicies().join(', ')}` : (err as Error).message}`,
    );
  }
  const compiled = file.startsWith(BUILTIN_POLICIES_DIR) ? precompiled(file, text) : null;
  if (compiled) return { ...compiled, source };
  // YAML and zod cost about 0.2 s of start-up: loaded only when a policy must really be parsed.
  const { parsePolicy } = await import('./parse.js');
  return parsePolicy(text, source);
}

/**
 * A built-in policy as parsed at release time (policies/NAME.parsed.json, written by
 * scripts/precompile-policies.mjs; a test keeps it current), used only while the YAML it came
 * from is byte for byte the same: a Nagios check every minute should not pay for a parser.
 */
function precompiled(file: string, text: string): Omit<Policy, 'source'> | null {
  try {
    const cached = JSON.parse(fsSync.readFileSync(file.replace(/\.yaml$/, '.parsed.json'), 'utf8'));
    return cached.sha256 === sha256(text) ? cached.policy : null;
  } catch {
    return null;
  }
}

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The names `--policy` accepts besides a file path. */
export function builtinPolicies(): string[] {
  try {
    return fsSync
      .readdirSync(BUILTIN_POLICIES_DIR)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.slice(0, -'.yaml'.length))
      .sort();
  } catch {
    return [DEFAULT_POLICY];
  }
}
