-- The index sharded by subject hash across K D1 databases (docs/SCALE.md, "Built: step 2").
-- Applied everywhere, empty and unused while INDEX_SHARDS is 1: then `statements` is both the
-- sequencer and the index, as before.
--
-- At INDEX_SHARDS = K > 1 this database is the sequencer: one row per statement, in arrival
-- order, holding only what orders and deduplicates it. The query rows live in the shard databases
-- INDEX_0 .. INDEX_{K-1} (migrations-index/), each carrying the seq assigned here.
CREATE TABLE sequence (
  seq   INTEGER PRIMARY KEY,     -- relay-wide arrival order = log leaf index + 1 (as statements.seq at K = 1)
  id    TEXT NOT NULL UNIQUE,    -- dedupe happens here, relay-wide
  shard INTEGER NOT NULL         -- which INDEX_i holds its index row
);
-- Ingest batches whose shard rows may not all be written yet. A row is written in the same
-- transaction that assigns the batch's seqs [lo, hi] and deleted once every shard holds them, so
-- the smallest `lo` here bounds what shard queries may show (the watermark, src/store/shards.ts).
-- A row left by a crashed ingest is repaired by the cron's integration once it is `at` + 30 s old.
CREATE TABLE unindexed (
  lo INTEGER PRIMARY KEY,        -- first seq of the batch
  hi INTEGER NOT NULL,           -- last seq of the batch (0 only inside the assigning transaction)
  at INTEGER NOT NULL            -- when the batch was sequenced (ms since the epoch)
);
