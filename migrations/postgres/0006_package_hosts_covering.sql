-- "Which hosts have package X" and its count read the package → host index alone (an
-- index-only scan) instead of visiting one heap page per host.
DROP INDEX host_packages_by_package;
CREATE INDEX host_packages_by_package ON host_packages(package_id, host_id);
