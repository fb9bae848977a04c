-- Per-actor daily usage, for the quotas of docs/SECURITY.md: one row per (actor, UTC day) that
-- wrote something. A batch updates one row per distinct actor in it (an upsert), so a batch of 100
-- statements from 10 actors writes 10 rows here beside the 400 of the statements themselves.
-- WITHOUT ROWID: the primary key is the only index, so an upsert writes one row, not two.
-- Rows older than yesterday are deleted by the cron.
CREATE TABLE usage (
  actor      TEXT    NOT NULL,
  day        INTEGER NOT NULL,  -- floor(ms since the epoch / 86,400,000)
  statements INTEGER NOT NULL DEFAULT 0,
  bytes      INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (actor, day)
) WITHOUT ROWID;
