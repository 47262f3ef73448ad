-- 009_security_hardening_rollback.sql: restore the values captured before the hardening
-- Rendered by `pgharden render` from policy ticket-010. Do not edit: render again.
-- Apply with: psql -v ON_ERROR_STOP=1 -d <database> -f 009_security_hardening_rollback.sql   (or pgharden migrate down)
-- :"DBNAME" is the database psql is connected to (-d; psql sets it itself); pgharden migrate fills it in too.
-- ALTER DATABASE ... SET takes effect for NEW sessions only; check with `pgharden verify`.
-- Captured values (the forward file refuses to run unless these are still the values before it):
--   statement_timeout: (not set at database level)
--   idle_in_transaction_session_timeout: (not set at database level)
--   work_mem: (not set at database level)
--   log_min_duration_statement: (not set at database level)
--   connection_limit: -1

BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER DATABASE :"DBNAME" CONNECTION LIMIT -1;
ALTER DATABASE :"DBNAME" RESET log_min_duration_statement;
ALTER DATABASE :"DBNAME" RESET work_mem;
ALTER DATABASE :"DBNAME" RESET idle_in_transaction_session_timeout;
ALTER DATABASE :"DBNAME" RESET statement_timeout;
COMMIT;
