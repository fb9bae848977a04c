-- The log's witnessed history (PROTOCOL §6.13): per tree size, the checkpoint this relay's log
-- signed with every witness cosignature collected for it. A cosignature carries its witness's own
-- time, so the earliest row whose size covers a leaf bounds when that statement existed, which a
-- thief holding a revoked key cannot back-date (policy `revocation: "witnessed"`).
-- One row per distinct size, written only by a cron run that got a new cosignature: at most 1,440
-- rows a day (a minute cron), each the note of ~150 bytes plus ~100 bytes per witness.
-- The primary key is the only index: the reads are "the earliest size > N" and "the largest".
CREATE TABLE witnessed (
  size INTEGER PRIMARY KEY,  -- the checkpoint's tree size
  note TEXT    NOT NULL      -- the signed checkpoint note with its cosignature lines appended
);
