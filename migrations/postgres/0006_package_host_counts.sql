-- SQLite's 0006 adds package_host_counts because it keeps no package → hosts index;
-- PostgreSQL counts through its host_packages(package_id) index and needs nothing here.
SELECT 1;
