-- The relay's source of truth. One row per statement; `seq` (the rowid) is arrival order.
-- Rows are never deleted or updated, so SQLite's max(rowid)+1 allocation is monotonic, and
-- since D1 runs one write transaction at a time, commit order equals seq order: a feed reader
-- that has seen seq N can never later find a new row below N.
CREATE TABLE statements (
  seq     INTEGER PRIMARY KEY,
  id      TEXT NOT NULL UNIQUE,   -- sha256-<base64> of `body`
  actor   TEXT NOT NULL,
  subject TEXT NOT NULL,
  claim   TEXT NOT NULL,
  object  TEXT,
  neg     INTEGER NOT NULL DEFAULT 0,
  time    INTEGER NOT NULL,
  body    TEXT NOT NULL           -- RFC 8785 canonical signed statement
);
-- Query indexes. Each index is one more row written per statement (money for operators),
-- so there are three; claim-only queries walk seq order and filter.
CREATE INDEX statements_subject ON statements (subject, seq);
CREATE INDEX statements_object ON statements (object, seq) WHERE object IS NOT NULL;
CREATE INDEX statements_actor ON statements (actor, seq);
