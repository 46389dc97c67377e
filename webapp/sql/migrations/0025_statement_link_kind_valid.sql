-- 0025: the activity log's wider CHECK of kinds (0023, added NOT VALID) validated in its own
-- transaction: a pass over the log under a lock that lets sales and the log's writes go on.
ALTER TABLE activity_log VALIDATE CONSTRAINT activity_log_kind_check;
