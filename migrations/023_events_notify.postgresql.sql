-- 023_events_notify.postgresql.sql — cross-host event delivery (host/src/events/event_relay.cpp).
-- Every stored event is announced on channel `jarvis_events` when its transaction commits, as
-- "<event id> <origin>", the origin being the writer's `jarvis.origin` setting (set by every jarvis
-- process on its sessions; empty for other writers). Each `jarvis serve` LISTENs, skips its own
-- events (it delivered them already) and forwards the others to its /ws clients, so a client
-- connected to any host sees events emitted on every host, and by the CLI.
CREATE FUNCTION jarvis_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('jarvis_events',
                    NEW.id || ' ' || coalesce(current_setting('jarvis.origin', true), ''));
  RETURN NULL;
END
$$;

CREATE TRIGGER events_notify AFTER INSERT ON events
  FOR EACH ROW EXECUTE FUNCTION jarvis_events_notify();
