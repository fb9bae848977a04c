CREATE TABLE statements (
  seq INTEGER PRIMARY KEY,  -- the relay-wide seq assigned by DB's `sequence` (not this shard's rowid order)
  id TEXT NOT NULL, actor TEXT NOT NULL, subject TEXT NOT NULL, claim TEXT NOT NULL,
  object TEXT, neg INTEGER NOT NULL DEFAULT 0, time INTEGER NOT NULL
);
CREATE INDEX statements_subject ON statements (subject, seq);
CREATE INDEX statements_object ON statements (object, seq) WHERE object IS NOT NULL;
CREATE INDEX statements_actor ON statements (actor, seq);
