// Writes policies/NAME.parsed.json for each built-in policy: the parsed, validated policy and the
// sha256 of the YAML it came from (see loadPolicy in src/policy/load.ts). Needs a built dist/.
import fs from 'node:fs';
import { BUILTIN_POLICIES_DIR, builtinPolicies, sha256 } from '../dist/policy/load.js';
import { parsePolicy } from '../dist/policy/parse.js';

for (const name of builtinPolicies()) {
  const text = fs.readFileSync(`${BUILTIN_POLICIES_DIR}${name}.yaml`, 'utf8');
  const { source: _source, ...policy } = parsePolicy(text, name);
  fs.writeFileSync(`${BUILTIN_POLICIES_DIR}${name}.parsed.json`, `${JSON.stringify({ sha256: sha256(text), policy }, null, 2)}\n`);
  console.log(`policies/${name}.parsed.json`);
}
