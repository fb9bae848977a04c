-- Statement bodies move out of D1 into the log's entry bundles in R2 (docs/SCALE.md, "Built:
-- bodies in R2"). A body waits here from ingest until integration has written its 256-leaf bundle
-- to R2, then its row is deleted, so this table holds only the log's unintegrated tail (normally
-- under a few thousand rows) and `statements` rows never carry a body: new rows get `body = ''`.
-- Emptying `statements.body` in place was measured and rejected: SQLite does not merge the shrunk
-- rows' pages, so the file stayed at 997 bytes a statement instead of 569.
-- WITHOUT ROWID, keyed by the id: the insert finds the new statements by id (NOT EXISTS in
-- `statements`) before they have a seq, and one B-tree means one row written per insert.
-- Rows stored before this migration keep their body in `statements.body` until integrated.
CREATE TABLE pending_bodies (
  id   TEXT NOT NULL PRIMARY KEY,  -- the statement's id (sha256 SRI of `body`)
  body TEXT NOT NULL               -- RFC 8785 canonical signed statement
) WITHOUT ROWID;
