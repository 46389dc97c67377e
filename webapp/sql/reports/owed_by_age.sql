-- What customers owed at the end of each day in :points (ascending; the last is :ends), by how
-- late it was then: not yet due, 1–30, 31–60, 61–90 and over 90 days past its due date.
-- What was owed at point P on sales due on D is the sum of owed_by_day's changes up to P.
--   changes: each change counts from the first point on or after its day (width_bucket over
--            the sorted points: how many points come before it), summed per (that point, due
--            date): a few thousand rows, whatever the number of sales;
--   runs:    such a sum is in one age at a run of consecutive points (it gets later as the
--            points go on): from the first point at which it counts and is that late to the
--            last at which it is still no later;
--   steps:   so it adds to that age at the run's first point and leaves at the point after its
--            last; the running sum of the steps, per age, over the points is what was owed.
-- The work follows the (point, due date) sums and the five ages, not the points times them.
WITH points AS (
    SELECT t.point, t.i
      FROM unnest(CAST(:points AS date[])) WITH ORDINALITY AS t(point, i)
), changes AS (
    SELECT width_bucket(o.day - 1, CAST(:points AS date[])) + 1 AS i, o.due_on,
           sum(o.change) AS change
      FROM owed_by_day o
     WHERE o.business_id = current_business_id() AND o.day <= CAST(:ends AS date)
     GROUP BY 1, 2
), ages (age, lo, hi) AS (
    VALUES (0, NULL::integer, 0), (1, 1, 30), (2, 31, 60), (3, 61, 90), (4, 91, NULL)
), runs AS (
    -- first: the later of the point it counts from and the first point with P - D >= lo;
    -- last: the last point with P - D <= hi (width_bucket: how many points are <= a date).
    SELECT a.age, c.change,
           greatest(c.i, CASE WHEN a.lo IS NULL THEN 1
                              ELSE width_bucket(c.due_on + a.lo - 1, CAST(:points AS date[])) + 1
                         END) AS first,
           CASE WHEN a.hi IS NULL THEN cardinality(CAST(:points AS date[]))
                ELSE width_bucket(c.due_on + a.hi, CAST(:points AS date[]))
           END AS last
      FROM changes c CROSS JOIN ages a
), steps AS (
    SELECT s.age, s.i, sum(s.step) AS step
      FROM (SELECT age, first AS i, change AS step FROM runs WHERE first <= last
            UNION ALL
            SELECT age, last + 1, -change FROM runs WHERE first <= last) s
     GROUP BY s.age, s.i
), owed AS (
    SELECT p.point, a.age,
           sum(coalesce(s.step, 0)) OVER (PARTITION BY a.age ORDER BY p.i) AS owed
      FROM points p
     CROSS JOIN ages a
      LEFT JOIN steps s ON s.age = a.age AND s.i = p.i
)
SELECT o.point,
       sum(o.owed) FILTER (WHERE o.age = 0) AS not_due,
       sum(o.owed) FILTER (WHERE o.age = 1) AS days_1_30,
       sum(o.owed) FILTER (WHERE o.age = 2) AS days_31_60,
       sum(o.owed) FILTER (WHERE o.age = 3) AS days_61_90,
       sum(o.owed) FILTER (WHERE o.age = 4) AS over_90
  FROM owed o
 GROUP BY o.point
 ORDER BY o.point
