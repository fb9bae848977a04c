-- One index shard (binding INDEX_i) of a relay with INDEX_SHARDS = K > 1 (docs/SCALE.md, "Built:
-- step 2"). Holds the query rows of the statements whose package hashes to this shard
-- (src/store/shards.ts, shardOf). No body (bodies are in DB's pending_bodies, then in R2) and no
-- unique id index: dedupe and lookups by id happen in DB's `sequence`.
CREATE TABLE statements (
  seq INTEGER PRIMARY KEY,  -- the relay-wide seq assigned by DB's `sequence` (not this shard's rowid order)
  id TEXT NOT NULL, actor TEXT NOT NULL, subject TEXT NOT NULL, claim TEXT NOT NULL,
  object TEXT, neg INTEGER NOT NULL DEFAULT 0, time INTEGER NOT NULL
);
CREATE INDEX statements_subject ON statements (subject, seq);
CREATE INDEX statements_object ON statements (object, seq) WHERE object IS NOT NULL;
CREATE INDEX statements_actor ON statements (actor, seq);
