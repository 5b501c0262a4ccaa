-- quality_drift_periods over all weeks.
CREATE OR REPLACE VIEW quality_drift AS SELECT * FROM quality_drift_periods WHERE week IS NULL;
