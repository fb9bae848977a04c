-- The index sharded by subject hash (docs/SCALE.md, issue 17 step 2). Applied everywhere; empty and
-- unused while INDEX_SHARDS = "1", where `statements` is both sequencer and index.
CREATE TABLE sequence (
  seq   INTEGER PRIMARY KEY,     -- relay-wide arrival order = log leaf index + 1 (as statements.seq at K = 1)
  id    TEXT NOT NULL UNIQUE,    -- dedupe happens here, relay-wide
  shard INTEGER NOT NULL         -- which INDEX_i holds its index row
);
-- Ingest batches whose shard rows may not all be written yet (the read watermark).
CREATE TABLE unindexed (
  lo INTEGER PRIMARY KEY,        -- first seq of the batch
  hi INTEGER NOT NULL,           -- last seq of the batch
  at INTEGER NOT NULL            -- ms since epoch when the batch's seqs were assigned
);
