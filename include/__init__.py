"""Domain library of the NER feedback loop: plain typed functions, no Airflow imports."""
