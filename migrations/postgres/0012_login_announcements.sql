-- Every change to what authentication reads (a person's password, role or
-- customer; a role's privileges; a person or role deleted) and every
-- username probe is announced on the channel `switchyard_logins`, whoever
-- makes it: a call, `switchyard admin passwd`, another process, or an
-- operator at psql. Each process's credential cache listens, so that a warm
-- call need not read the person; a cache that loses its listening
-- connection forgets everything and reads again until it listens anew.
CREATE FUNCTION switchyard_announce_person() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('switchyard_logins', 'person:' || OLD.id);
    RETURN NULL;
END $$;

CREATE TRIGGER people_announce AFTER UPDATE OR DELETE ON people
    FOR EACH ROW EXECUTE FUNCTION switchyard_announce_person();

CREATE FUNCTION switchyard_announce_role() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('switchyard_logins', 'role:' || NEW.role);
    ELSE
        PERFORM pg_notify('switchyard_logins', 'role:' || OLD.role);
        IF TG_OP = 'UPDATE' THEN
            PERFORM pg_notify('switchyard_logins', 'role:' || NEW.role);
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER role_privileges_announce AFTER INSERT OR UPDATE OR DELETE ON role_privileges
    FOR EACH ROW EXECUTE FUNCTION switchyard_announce_role();

-- A probe for usernames ends the prober's cached logins, so that their next
-- call is checked against the probe window like any uncached one.
CREATE FUNCTION switchyard_announce_probe() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind = 'probe' THEN
        PERFORM pg_notify('switchyard_logins', 'probe:' || NEW.key);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER auth_windows_announce AFTER INSERT OR UPDATE ON auth_windows
    FOR EACH ROW EXECUTE FUNCTION switchyard_announce_probe();

-- TRUNCATE fires no row triggers: it announces that every login may have changed.
CREATE FUNCTION switchyard_announce_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('switchyard_logins', 'all:' || TG_TABLE_NAME);
    RETURN NULL;
END $$;

CREATE TRIGGER people_truncate_announce AFTER TRUNCATE ON people
    FOR EACH STATEMENT EXECUTE FUNCTION switchyard_announce_all();
CREATE TRIGGER role_privileges_truncate_announce AFTER TRUNCATE ON role_privileges
    FOR EACH STATEMENT EXECUTE FUNCTION switchyard_announce_all();
