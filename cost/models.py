"""BigQuery cost data. The billing models arrive with the billing-ingestion issue."""
