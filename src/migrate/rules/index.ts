import type { Rule } from '../lint-types.js';
import { enumValueInTransaction } from './enum-value-in-transaction.js';
import { grantToPublic } from './grant-to-public.js';
import { hardCodedDatabase } from './hard-coded-database.js';
import { nonTransactionalInTransaction } from './non-transactional-in-transaction.js';
import { requireLockTimeout } from './require-lock-timeout.js';
import { rollbackHardCodedValue } from './rollback-hard-coded-value.js';
import { rollbackIncomplete } from './rollback-incomplete.js';
import { rollbackMissing } from './rollback-missing.js';
import { sessionSetProvesNothing } from './session-set-proves-nothing.js';
import { settingNotDatabaseSettable } from './setting-not-database-settable.js';
import { superuserSetting } from './superuser-setting.js';
import { unknownSetting } from './unknown-setting.js';

/** Every lint rule, in the order docs/migrate.md documents them. */
export const RULES: Rule[] = [
  settingNotDatabaseSettable,
  superuserSetting,
  sessionSetProvesNothing,
  hardCodedDatabase,
  requireLockTimeout,
  grantToPublic,
  rollbackMissing,
  rollbackIncomplete,
  rollbackHardCodedValue,
  nonTransactionalInTransaction,
  unknownSetting,
  enumValueInTransaction,
];
