"""The Spark tables job: CSV/XLSX documents to the project's row records, written as Parquet."""
