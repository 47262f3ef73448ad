-- 009_security_hardening.sql: security hardening (runbook TICKET-010)
-- Rendered by `pgharden render` from policy ticket-010. Do not edit: render again.
-- Apply with: psql -v ON_ERROR_STOP=1 -d <database> -f 009_security_hardening.sql   (or pgharden migrate up)
-- :"DBNAME" is the database psql is connected to (-d; psql sets it itself); pgharden migrate fills it in too.
-- ALTER DATABASE ... SET takes effect for NEW sessions only; check with `pgharden verify`.

BEGIN;
SET LOCAL lock_timeout = '5s';
-- Refuse unless the database still holds the values captured when this pair was rendered: the
-- rollback restores exactly those (render again for another database or after a change).
DO $pgharden$
DECLARE
  drift text;
BEGIN
  SELECT string_agg(format('%s%s is %s, captured %s', e.name, CASE WHEN e.role <> '' THEN ' for role ' || e.role ELSE '' END,
                           coalesce(quote_literal(now.value), 'not set'), coalesce(quote_literal(e.before), 'not set')), '; ')
    INTO drift
    FROM (VALUES ('', 'statement_timeout', NULL),
                 ('', 'idle_in_transaction_session_timeout', NULL),
                 ('', 'work_mem', NULL),
                 ('', 'log_min_duration_statement', NULL)) AS e(role, name, before)
    LEFT JOIN LATERAL (
      SELECT substr(cfg, length(e.name) + 2) AS value
        FROM pg_catalog.pg_db_role_setting s, unnest(s.setconfig) AS cfg
       WHERE s.setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
         AND s.setrole = CASE WHEN e.role = '' THEN 0 ELSE (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = e.role) END
         AND starts_with(cfg, e.name || '=')
    ) AS now ON true
   WHERE now.value IS DISTINCT FROM e.before;
  SELECT nullif(concat_ws('; ', drift, CASE WHEN datconnlimit <> -1 THEN 'CONNECTION LIMIT is ' || datconnlimit || ', captured -1' END), '')
    INTO drift
    FROM pg_catalog.pg_database WHERE datname = current_database();
  IF drift IS NOT NULL THEN
    RAISE EXCEPTION 'database %: the values before this migration are not those its rollback restores: %', current_database(), drift
      USING HINT = 'the rollback was rendered from another state; run pgharden render again on this database';
  END IF;
END
$pgharden$;
ALTER DATABASE :"DBNAME" SET statement_timeout = '30s';
ALTER DATABASE :"DBNAME" SET idle_in_transaction_session_timeout = '60s';
ALTER DATABASE :"DBNAME" SET work_mem = '256MB';
ALTER DATABASE :"DBNAME" SET log_min_duration_statement = '1s';
ALTER DATABASE :"DBNAME" CONNECTION LIMIT 200;
COMMIT;
