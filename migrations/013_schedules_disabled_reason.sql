-- 013_schedules_disabled_reason.sql — why the host switched a schedule off (issue 8: a schedule
-- whose owner may no longer start its task is disabled at start-up and by the periodic sweep,
-- never silently run). NULL for schedules enabled or disabled by a person.
ALTER TABLE schedules ADD COLUMN disabled_reason TEXT;
