"""Admin for cost models (none yet: they arrive with billing ingestion)."""
