-- docker-compose only: databases for Airflow's metadata and Label Studio beside the Intelligence DB.
CREATE DATABASE airflow OWNER nerloop;
CREATE DATABASE labelstudio OWNER nerloop;
