-- Witness state (PROTOCOL §6.11, C2SP tlog-witness): per log origin, the latest checkpoint this
-- relay cosigned. It is only ever replaced by a compare-and-swap on (size, root) after the
-- consistency proof from exactly this row verified, so the relay never cosigns two inconsistent
-- checkpoints of one log, whatever restarts or concurrent requests come between.
CREATE TABLE witness_state (
  origin TEXT    PRIMARY KEY,
  size   INTEGER NOT NULL,
  root   BLOB    NOT NULL,  -- 32 bytes
  note   TEXT    NOT NULL,  -- the checkpoint as submitted, log signature included (for monitors)
  cosig  TEXT    NOT NULL,  -- this witness's cosignature line over it
  time   INTEGER NOT NULL   -- when it was cosigned (POSIX seconds)
) WITHOUT ROWID;
