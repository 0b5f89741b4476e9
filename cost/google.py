"""The only module that talks to Google: the BigQuery client, the query settings every
pull uses (labels, the byte cap, dry runs), and Google's errors in words.

`make_client` is the seam tests replace with a fake (pulls call it as
`google.make_client`, so replacing it here replaces it everywhere).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from google.api_core.exceptions import GoogleAPICallError
from google.auth.exceptions import GoogleAuthError
from google.cloud import bigquery

CAP_SETTING = "QUARTERDECK_BIGQUERY_MAX_BYTES_BILLED"


# --- The seam ----------------------------------------------------------------------------


def make_client(project: str) -> bigquery.Client:
    """A client on the application default credentials; query jobs run (and are billed)
    in `project`."""
    return bigquery.Client(project=project)


# --- Queries -----------------------------------------------------------------------------


def byte_cap() -> int | None:
    cap = settings.QUARTERDECK_BIGQUERY_MAX_BYTES_BILLED
    return cap or None


def query_config(step: str, parameters: list, *, dry_run: bool = False) -> bigquery.QueryJobConfig:
    config = bigquery.QueryJobConfig(
        query_parameters=parameters,
        # The job history (INFORMATION_SCHEMA.JOBS) then says what these queries were for.
        labels={"application": "quarterdeck", "quarterdeck-step": step},
    )
    if dry_run:
        config.dry_run = True
        config.use_query_cache = False
    elif byte_cap() is not None:
        # Only when there is a cap: the client would send None as the string "None".
        config.maximum_bytes_billed = byte_cap()
    return config


@dataclass
class Scanned:
    processed: int = 0
    billed: int = 0

    def add(self, job: bigquery.QueryJob) -> None:
        self.processed += job.total_bytes_processed or 0
        self.billed += job.total_bytes_billed or 0


def run_query(
    client: bigquery.Client, sql: str, config: bigquery.QueryJobConfig, scanned: Scanned
) -> list[Mapping[str, Any]]:
    job = client.query(sql, job_config=config)
    rows = list(job.result())
    scanned.add(job)
    return rows


# --- Errors --------------------------------------------------------------------------------


def describe_error(
    error: Exception, *, narrower: str = "See the size with --dry-run; then pull fewer --months"
) -> str:
    """A Google error in words, with what to do; `narrower` says how to bill fewer bytes."""
    if isinstance(error, GoogleAuthError):
        return (
            f"no usable Google credentials ({error}); run `gcloud auth application-default "
            "login` or set GOOGLE_APPLICATION_CREDENTIALS to a service account key"
        )
    if isinstance(error, GoogleAPICallError):
        reasons = {
            detail.get("reason") for detail in error.errors or [] if isinstance(detail, dict)
        }
        if "bytesBilledLimitExceeded" in reasons or "bytes billed" in error.message.lower():
            cap = f"{byte_cap():,} bytes" if byte_cap() else "the limit"
            return (
                f"BigQuery refused the query: it would bill more than {cap} ({CAP_SETTING}): "
                f"{error.message.rstrip('.')}. {narrower} "
                "or raise the cap"
            )
        return f"BigQuery error {error.code}: {error.message}"
    return f"BigQuery error: {error}"
