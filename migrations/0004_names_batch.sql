-- Search, second pass (docs/SCALE.md, "Search, as built"). Two changes:
--
-- 1. The names counts are written once per package per insert batch by src/store/statements.ts
--    (NAMES_UPSERT, in the same D1 batch, so the same transaction), not once per statement by a
--    trigger: a bridge batch of 1000 versions of one package now writes 1 names row, not 1000.
DROP TRIGGER statements_names;

-- 2. Substring search (`pad` finds `left-pad`): every suffix of a name of at least 3 characters,
--    other than the name itself (the names key already answers prefixes of it), so a substring is
--    a prefix of some suffix and one range of this key finds it. Written once per new name (by the
--    trigger below, which an upsert's DO UPDATE path does not fire), never per statement. Plain
--    B-tree rows, not FTS5: an FTS5 table works in local D1 (trigram too), but `wrangler d1 export`
--    refuses a database holding a virtual table (workers-sdk issues 6305 and 9519), and an
--    operator's backups must keep working.
CREATE TABLE name_parts (
  part TEXT NOT NULL,  -- a suffix of `name`, starting at its 2nd to (length - 2)th character
  name TEXT NOT NULL,  -- names.name
  PRIMARY KEY (part, name)
) WITHOUT ROWID;

-- The positions 2..62 as a JSON array: a trigger may not use a recursive CTE to count. A name longer
-- than 64 characters gets suffixes from its first 62 positions only, so a substring starting after
-- its 62nd character is not found (the prefix search still finds the name).
CREATE TRIGGER names_parts AFTER INSERT ON names
WHEN length(NEW.name) > 3
BEGIN
  INSERT OR IGNORE INTO name_parts (part, name)
  SELECT substr(NEW.name, k.value), NEW.name FROM json_each('[2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62]') AS k
  WHERE k.value <= length(NEW.name) - 2;
END;

-- The names already held.
INSERT OR IGNORE INTO name_parts (part, name)
SELECT substr(n.name, k.value), n.name
FROM (SELECT DISTINCT name FROM names WHERE length(name) > 3) AS n, json_each('[2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62]') AS k
WHERE k.value <= length(n.name) - 2;
