-- Search (docs/SCALE.md, "Search"): one row per package, never one per statement. `name` is the
-- package name as typed in a search box (the purl's last path segment, without version, lower
-- case), so `left-pad` finds pkg:npm/left-pad, pkg:generic/left-pad, ... by one range scan of the
-- primary key. WITHOUT ROWID: the key is the only B-tree, so a write touches one row.
CREATE TABLE names (
  name       TEXT    NOT NULL,
  pkg        TEXT    NOT NULL,  -- the purl without version (src/explorer/data.ts splitPurl)
  statements INTEGER NOT NULL,  -- statements whose subject is the package or one of its versions
  latest     INTEGER NOT NULL,  -- the newest statement time among them (ms)
  PRIMARY KEY (name, pkg)
) WITHOUT ROWID;

-- Filled by a trigger, so it is written in the same transaction as the statement and only for a
-- row that was really inserted (a duplicate's ON CONFLICT DO NOTHING fires nothing). The package
-- is split as splitPurl does: the version follows the last `@` after the last `/`.
-- `rtrim(s, replace(s, c, ''))` is s up to and including its last `c`.
CREATE TRIGGER statements_names AFTER INSERT ON statements
WHEN substr(NEW.subject, 1, 4) = 'pkg:' AND instr(NEW.subject, '/') > 0
BEGIN
  INSERT INTO names (name, pkg, statements, latest)
  SELECT lower(name), head || name, 1, NEW.time
  FROM (SELECT head, CASE WHEN instr(tail, '@') > 0 THEN substr(rtrim(tail, replace(tail, '@', '')), 1, length(rtrim(tail, replace(tail, '@', ''))) - 1) ELSE tail END AS name
        FROM (SELECT rtrim(NEW.subject, replace(NEW.subject, '/', '')) AS head,
                     substr(NEW.subject, length(rtrim(NEW.subject, replace(NEW.subject, '/', ''))) + 1) AS tail))
  WHERE name <> ''
  ON CONFLICT (name, pkg) DO UPDATE SET statements = statements + 1, latest = max(latest, excluded.latest);
END;

-- The statements already held (a relay that had them before this migration): the same split.
INSERT INTO names (name, pkg, statements, latest)
SELECT lower(name), head || name, count(*), max(time)
FROM (SELECT head, time, CASE WHEN instr(tail, '@') > 0 THEN substr(rtrim(tail, replace(tail, '@', '')), 1, length(rtrim(tail, replace(tail, '@', ''))) - 1) ELSE tail END AS name
      FROM (SELECT time, rtrim(subject, replace(subject, '/', '')) AS head,
                   substr(subject, length(rtrim(subject, replace(subject, '/', ''))) + 1) AS tail
            FROM statements WHERE substr(subject, 1, 4) = 'pkg:' AND instr(subject, '/') > 0))
WHERE name <> ''
GROUP BY lower(name), head || name;
