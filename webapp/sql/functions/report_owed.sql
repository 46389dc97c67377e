-- report_owed(business, day, due dates, changes): adds changes in what customers owe to
-- owed_by_day, one row per due date (changes of one date summed; a sum of zero writes
-- nothing). The day is today in the shop's timezone when NULL. Called by the ledger functions
-- only, after the shop's counter and the sales rollups, rows in due-date order: every
-- transaction takes these rows in that one order, so none can deadlock on them.

CREATE OR REPLACE FUNCTION report_owed(
    p_business_id uuid,
    p_day         date,
    p_due_dates   date[],
    p_changes     numeric[]
) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_day date := coalesce(p_day, (SELECT (now() AT TIME ZONE b.timezone)::date
                                     FROM public.businesses b WHERE b.id = p_business_id));
BEGIN
    INSERT INTO public.owed_by_day AS o (business_id, day, due_on, change)
    SELECT p_business_id, v_day, c.due_on, sum(c.change)
      FROM unnest(p_due_dates, p_changes) AS c(due_on, change)
     GROUP BY c.due_on
    HAVING sum(c.change) <> 0
     ORDER BY c.due_on
    ON CONFLICT ON CONSTRAINT owed_by_day_pkey DO UPDATE SET change = o.change + excluded.change;
END
$$;

REVOKE ALL ON FUNCTION report_owed(uuid, date, date[], numeric[]) FROM PUBLIC;
