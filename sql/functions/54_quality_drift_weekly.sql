-- quality_drift_periods per week.
CREATE OR REPLACE VIEW quality_drift_weekly AS SELECT * FROM quality_drift_periods WHERE week IS NOT NULL;
