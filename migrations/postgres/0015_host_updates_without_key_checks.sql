-- As 0011 did for host_packages: the foreign key from host_updates to hosts checked, and
-- share-locked, the host row once for every update row a verdict writes (12 M rows in a full
-- recomputation at 100,000 hosts). The updater writes a host's rows only in the transaction
-- that has locked the host's row and checked its state version; a host's deletion still takes
-- them along.
ALTER TABLE host_updates DROP CONSTRAINT host_updates_host_id_fkey;

CREATE FUNCTION delete_updates_of_deleted_hosts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM host_updates WHERE host_id IN (SELECT id FROM deleted_hosts);
    RETURN NULL;
END
$$;

CREATE TRIGGER hosts_take_their_updates AFTER DELETE ON hosts
    REFERENCING OLD TABLE AS deleted_hosts
    FOR EACH STATEMENT EXECUTE FUNCTION delete_updates_of_deleted_hosts();
