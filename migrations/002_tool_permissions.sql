-- Host schema: (principal, tool) permissions for the deny-by-default policy engine.
CREATE TABLE tool_permissions (
  principal   TEXT NOT NULL,
  tool        TEXT NOT NULL,
  effect      TEXT NOT NULL DEFAULT 'allow' CHECK (effect IN ('allow', 'deny')),
  created_at  TEXT NOT NULL,
  PRIMARY KEY (principal, tool)
);
