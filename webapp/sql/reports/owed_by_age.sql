-- What customers owed at the end of each day in :points (ascending; the last is :ends), by how
-- late it was then: not yet due, 1–30, 31–60, 61–90 and over 90 days past its due date.
-- What was owed at day P on sales due on D is the sum of owed_by_day's changes up to P. Each
-- change is counted from the first point on or after its day (width_bucket over the sorted
-- points), so the changes are first summed per (point, due date): a few thousand rows,
-- whatever the number of sales, which each point then adds up.
WITH points AS (
    SELECT t.point, t.i
      FROM unnest(CAST(:points AS date[])) WITH ORDINALITY AS t(point, i)
), changes AS (
    SELECT width_bucket(o.day - 1, CAST(:points AS date[])) + 1 AS i, o.due_on,
           sum(o.change) AS change
      FROM owed_by_day o
     WHERE o.business_id = current_business_id() AND o.day <= CAST(:ends AS date)
     GROUP BY 1, 2
)
SELECT p.point,
       coalesce(sum(c.change) FILTER (WHERE c.due_on >= p.point), 0) AS not_due,
       coalesce(sum(c.change) FILTER (WHERE p.point - c.due_on BETWEEN 1 AND 30), 0) AS days_1_30,
       coalesce(sum(c.change) FILTER (WHERE p.point - c.due_on BETWEEN 31 AND 60), 0)
           AS days_31_60,
       coalesce(sum(c.change) FILTER (WHERE p.point - c.due_on BETWEEN 61 AND 90), 0)
           AS days_61_90,
       coalesce(sum(c.change) FILTER (WHERE p.point - c.due_on > 90), 0) AS over_90
  FROM points p
  LEFT JOIN changes c ON c.i <= p.i
 GROUP BY p.point
 ORDER BY p.point
