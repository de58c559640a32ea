DROP TABLE tick_runs;
DROP TABLE tiers;
DROP TABLE benefits;
DROP TABLE enrollments;
