-- 009_security_hardening.sql: security hardening (runbook TICKET-010)
-- Rendered by `pgharden render` from policy ticket-010. Do not edit: render again.
-- Apply with: psql -v ON_ERROR_STOP=1 -d <database> -f 009_security_hardening.sql
-- ALTER DATABASE ... SET takes effect for NEW sessions only; check with `pgharden verify`.

BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER DATABASE "codex_memory" SET statement_timeout = '30s';
ALTER DATABASE "codex_memory" SET idle_in_transaction_session_timeout = '60s';
ALTER DATABASE "codex_memory" SET work_mem = '256MB';
ALTER DATABASE "codex_memory" SET log_min_duration_statement = '1s';
ALTER DATABASE "codex_memory" CONNECTION LIMIT 200;
COMMIT;
