-- 009_security_hardening_rollback.sql: restore the values captured before the hardening
-- Rendered by `pgharden render` from policy ticket-010. Do not edit: render again.
-- Apply with: psql -v ON_ERROR_STOP=1 -d <database> -f 009_security_hardening_rollback.sql
-- ALTER DATABASE ... SET takes effect for NEW sessions only; check with `pgharden verify`.
-- Captured database-level values:
--   statement_timeout: (not set at database level)
--   idle_in_transaction_session_timeout: (not set at database level)
--   work_mem: (not set at database level)
--   log_min_duration_statement: (not set at database level)
--   connection_limit: -1

BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER DATABASE "codex_memory" CONNECTION LIMIT -1;
ALTER DATABASE "codex_memory" RESET log_min_duration_statement;
ALTER DATABASE "codex_memory" RESET work_mem;
ALTER DATABASE "codex_memory" RESET idle_in_transaction_session_timeout;
ALTER DATABASE "codex_memory" RESET statement_timeout;
COMMIT;
