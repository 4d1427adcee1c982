-- The updater reads a host's stale names without checking them against its packages: a whole
-- verdict saved for the host deletes its marks from now on. A mark left from before that
-- names a package the host no longer has is deleted here.
DELETE FROM host_stale_packages
WHERE NOT EXISTS (
    SELECT 1 FROM host_packages hp
    WHERE hp.host_id = host_stale_packages.host_id AND hp.package_id = host_stale_packages.package_id
);
