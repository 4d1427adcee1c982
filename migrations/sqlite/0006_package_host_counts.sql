-- How many hosts have each package installed, kept by triggers as host_packages changes
-- (reports' set differences, host deletion by cascade). SQLite keeps no package → hosts
-- index (see 0001), so without this the packages page would probe every host per version.
-- Derived: copy-db does not copy it; the triggers rebuild it as host_packages is copied.
CREATE TABLE package_host_counts (
    package_id INTEGER PRIMARY KEY,
    hosts      INTEGER NOT NULL
);

INSERT INTO package_host_counts (package_id, hosts)
SELECT package_id, count(*) FROM host_packages GROUP BY package_id;

CREATE TRIGGER host_packages_counted AFTER INSERT ON host_packages
BEGIN
    INSERT INTO package_host_counts (package_id, hosts) VALUES (NEW.package_id, 1)
    ON CONFLICT (package_id) DO UPDATE SET hosts = hosts + 1;
END;

CREATE TRIGGER host_packages_uncounted AFTER DELETE ON host_packages
BEGIN
    UPDATE package_host_counts SET hosts = hosts - 1 WHERE package_id = OLD.package_id;
END;
