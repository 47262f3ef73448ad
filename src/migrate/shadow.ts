import { randomBytes } from 'node:crypto';
import { connect, type Client } from '../pg/client.js';
import { quoteIdent } from '../pg/quote.js';
import { withDatabase, type Target } from '../pg/target.js';

/**
 * A throwaway database on a server, for `migrate check`. Created from template0 (nothing a
 * template1 may hold, and never "being accessed by other users"), dropped WITH (FORCE) whatever
 * happens, so no session of ours can keep it alive.
 */
export class ShadowDatabase {
  readonly name = `pgharden_shadow_${randomBytes(6).toString('hex')}`;
  readonly quoted = quoteIdent(this.name);
  client: Client | null = null;
  private exists = false;

  constructor(
    private readonly admin: Client,
    private readonly server: Target,
  ) {}

  /** (Re)create it empty and connect to it. */
  async fresh(): Promise<Client> {
    await this.drop();
    await this.admin.query(`CREATE DATABASE ${this.quoted} TEMPLATE template0`);
    this.exists = true;
    this.client = await connect(withDatabase(this.server, this.name), { onError: () => undefined });
    return this.client;
  }

  async drop(): Promise<void> {
    await this.client?.end().catch(() => undefined);
    this.client = null;
    if (!this.exists) return;
    try {
      await this.admin.query(`DROP DATABASE IF EXISTS ${this.quoted} WITH (FORCE)`);
    } catch (err) {
      // WITH (FORCE) is PostgreSQL 13+; our own session is already closed, so a plain DROP works on older servers.
      if ((err as { code?: string }).code !== '42601') throw err;
      await this.admin.query(`DROP DATABASE IF EXISTS ${this.quoted}`);
    }
    this.exists = false;
  }
}
