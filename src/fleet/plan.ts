import { createHash } from 'node:crypto';
import type { Client } from '../pg/client.js';
import { loadPolicy } from '../policy/load.js';
import type { Policy } from '../policy/schema.js';
import { ensureFleetSchema } from './control.js';
import type { Inventory } from './inventory.js';
import { getFleet, savePlan, type FleetRow } from './store.js';
import { resolveTargets } from './targets.js';
import { planWaves, waveOf } from './waves.js';

/** What is kept of an inventory in the control database: its choices, not where the file was. */
export function storedInventory(inv: Inventory): Record<string, unknown> {
  const { source: _source, policyPath: _path, ...rest } = inv;
  return rest;
}

/**
 * The identity of a rollout: the inventory's choices and the policy's content. A worker whose
 * files differ from the plan is refused rather than mixing two policies in one fleet. Discovery
 * is not part of it: a resumed rollout keeps the set it planned.
 */
export function inventoryHash(inv: Inventory, policy: Policy): string {
  const { source: _source, ...content } = policy;
  return createHash('sha256')
    .update(JSON.stringify([storedInventory(inv), content]))
    .digest('hex')
    .slice(0, 16);
}

/** Plan a fleet once: resolve and discover the targets, cut them into waves, write it all. */
export async function planFleet(client: Client, inv: Inventory): Promise<{ fleet: FleetRow; created: boolean; policy: Policy }> {
  const policy = await loadPolicy(inv.policyPath);
  const hash = inventoryHash(inv, policy);
  await ensureFleetSchema(client);
  const existing = await getFleet(client, inv.name);
  if (existing && existing.inventoryHash === hash) return { fleet: existing, created: false, policy };
  const specs = await resolveTargets(inv, policy);
  const waves = planWaves(specs.length, inv.waves, inv.max_failures);
  const wave = waveOf(waves);
  const { fleet, created } = await savePlan(client, {
    id: inv.name,
    inventory: storedInventory(inv),
    inventoryHash: hash,
    policy,
    policySource: policy.source,
    waves,
    targets: specs.map((s, i) => ({ ...s, wave: wave[i] })),
  });
  return { fleet, created, policy };
}
