-- The foreign key from host_packages to hosts checked, and share-locked, the host row once
-- for every package row a report inserts: a thousand lookups per report, a quarter of its
-- cost. Ingest writes package rows only for the host row it holds locked, so nothing is lost
-- by not checking them; a host's deletion still takes its package rows along, by this
-- trigger, once per statement.
ALTER TABLE host_packages DROP CONSTRAINT host_packages_host_id_fkey;

CREATE FUNCTION delete_packages_of_deleted_hosts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM host_packages WHERE host_id IN (SELECT id FROM deleted_hosts);
    RETURN NULL;
END
$$;

CREATE TRIGGER hosts_take_their_packages AFTER DELETE ON hosts
    REFERENCING OLD TABLE AS deleted_hosts
    FOR EACH STATEMENT EXECUTE FUNCTION delete_packages_of_deleted_hosts();
