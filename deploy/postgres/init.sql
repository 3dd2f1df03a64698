-- First-start initialisation of the Compose PostgreSQL (mounted into /docker-entrypoint-initdb.d,
-- run once by the image's entrypoint as the superuser, on an empty data directory only).
--
-- One database per service. Each has two roles:
--   <service>_owner  owns the database and its `public` schema; `aizu migrate` connects as it
--                    (AIZU_<SERVICE>_MIGRATION_DATABASE_URL) to create and alter tables.
--                    It is NOBYPASSRLS too, and the tables FORCE row-level security, so work
--                    over all towns (`aizu seed`, `aizu audit verify`) goes one town at a time
--                    (services/runtime/rls.py); only the superuser skips the policies.
--   <service>_app    what the running service connects as (AIZU_<SERVICE>_DATABASE_URL): it reads
--                    and writes rows, nothing else. It owns no table and has NOBYPASSRLS, so the
--                    row-level security policies on `tenant` always apply to it (a table's owner
--                    would skip them unless the table FORCEs them).
-- No role can connect to another service's database.
--
-- Passwords are read from the container's environment with psql's \getenv (PostgreSQL 15+), so
-- none is written here. A missing variable stops the initialisation.

\set ON_ERROR_STOP on

\getenv procedures_owner_password PROCEDURES_OWNER_DB_PASSWORD
\getenv procedures_app_password PROCEDURES_APP_DB_PASSWORD
\getenv notifications_owner_password NOTIFICATIONS_OWNER_DB_PASSWORD
\getenv notifications_app_password NOTIFICATIONS_APP_DB_PASSWORD
\getenv portal_owner_password PORTAL_OWNER_DB_PASSWORD
\getenv portal_app_password PORTAL_APP_DB_PASSWORD
\getenv insights_owner_password INSIGHTS_OWNER_DB_PASSWORD
\getenv insights_app_password INSIGHTS_APP_DB_PASSWORD
\getenv keycloak_password KEYCLOAK_DB_PASSWORD

SELECT string_agg(name, ', ') AS missing_passwords
FROM (VALUES
  ('PROCEDURES_OWNER_DB_PASSWORD', :{?procedures_owner_password}),
  ('PROCEDURES_APP_DB_PASSWORD', :{?procedures_app_password}),
  ('NOTIFICATIONS_OWNER_DB_PASSWORD', :{?notifications_owner_password}),
  ('NOTIFICATIONS_APP_DB_PASSWORD', :{?notifications_app_password}),
  ('PORTAL_OWNER_DB_PASSWORD', :{?portal_owner_password}),
  ('PORTAL_APP_DB_PASSWORD', :{?portal_app_password}),
  ('INSIGHTS_OWNER_DB_PASSWORD', :{?insights_owner_password}),
  ('INSIGHTS_APP_DB_PASSWORD', :{?insights_app_password}),
  ('KEYCLOAK_DB_PASSWORD', :{?keycloak_password})
) AS required(name, present)
WHERE NOT present \gset
\if :{?missing_passwords}
  \echo 'init.sql: not set in the environment:' :missing_passwords
  DO $$ BEGIN RAISE EXCEPTION 'database passwords missing from the environment'; END $$;
\endif

-- Nobody but the superuser connects to the maintenance database.
REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;

-- ---------------------------------------------------------------------------------------------
-- Roles. NOBYPASSRLS is the default; it is spelled out because the app roles depend on it.

CREATE ROLE procedures_owner    LOGIN PASSWORD :'procedures_owner_password'    NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE ROLE procedures_app      LOGIN PASSWORD :'procedures_app_password'      NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE ROLE notifications_owner LOGIN PASSWORD :'notifications_owner_password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE ROLE notifications_app   LOGIN PASSWORD :'notifications_app_password'   NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE ROLE portal_owner        LOGIN PASSWORD :'portal_owner_password'        NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE ROLE portal_app          LOGIN PASSWORD :'portal_app_password'          NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE ROLE insights_owner      LOGIN PASSWORD :'insights_owner_password'      NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE ROLE insights_app        LOGIN PASSWORD :'insights_app_password'        NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
-- Keycloak keeps its own schema in its own database (Compose only; production runs its own).
CREATE ROLE keycloak            LOGIN PASSWORD :'keycloak_password'            NOSUPERUSER NOCREATEDB NOCREATEROLE;

-- ---------------------------------------------------------------------------------------------
-- Databases. CREATE DATABASE cannot run in a transaction block, so each is its own statement.

CREATE DATABASE procedures    OWNER procedures_owner    ENCODING 'UTF8' TEMPLATE template0;
CREATE DATABASE notifications OWNER notifications_owner ENCODING 'UTF8' TEMPLATE template0;
CREATE DATABASE portal        OWNER portal_owner        ENCODING 'UTF8' TEMPLATE template0;
CREATE DATABASE insights      OWNER insights_owner      ENCODING 'UTF8' TEMPLATE template0;
CREATE DATABASE keycloak      OWNER keycloak            ENCODING 'UTF8' TEMPLATE template0;

REVOKE ALL ON DATABASE procedures, notifications, portal, insights, keycloak FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE procedures    TO procedures_app;
GRANT CONNECT, TEMPORARY ON DATABASE notifications TO notifications_app;
GRANT CONNECT, TEMPORARY ON DATABASE portal        TO portal_app;
GRANT CONNECT, TEMPORARY ON DATABASE insights      TO insights_app;

-- ---------------------------------------------------------------------------------------------
-- Inside each service database: the owner creates (PostgreSQL 15+ gives the `public` schema to
-- the database owner and no CREATE to anyone else); the app role only uses what the owner makes.
-- Default privileges hand it every table and sequence the owner's migrations create later.

\connect procedures
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO procedures_app;
ALTER DEFAULT PRIVILEGES FOR ROLE procedures_owner IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO procedures_app;
ALTER DEFAULT PRIVILEGES FOR ROLE procedures_owner IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO procedures_app;

\connect notifications
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO notifications_app;
ALTER DEFAULT PRIVILEGES FOR ROLE notifications_owner IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO notifications_app;
ALTER DEFAULT PRIVILEGES FOR ROLE notifications_owner IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO notifications_app;

\connect portal
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO portal_app;
ALTER DEFAULT PRIVILEGES FOR ROLE portal_owner IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO portal_app;
ALTER DEFAULT PRIVILEGES FOR ROLE portal_owner IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO portal_app;

\connect insights
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO insights_app;
ALTER DEFAULT PRIVILEGES FOR ROLE insights_owner IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO insights_app;
ALTER DEFAULT PRIVILEGES FOR ROLE insights_owner IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO insights_app;
