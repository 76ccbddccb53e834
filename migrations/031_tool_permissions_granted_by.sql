-- 031_tool_permissions_granted_by.sql — who set a tool permission (host/src/auth/permissions.cpp):
-- 'admin' for rows set through the permissions API or CLI (every row before this migration),
-- 'plugin:<name>' for the allow rows a plugin grants its agents (ToolRegistry::grant_agent_tools).
-- A plugin only ever changes its own rows; an admin's write takes a row over. Portable: SQLite
-- and PostgreSQL both add a NOT NULL column with a constant default to existing rows.
ALTER TABLE tool_permissions ADD COLUMN granted_by TEXT NOT NULL DEFAULT 'admin';
