"""The loop's quality pages (drift, learning curve, timeline, uncertain queue, lineage) in Airflow's UI."""
