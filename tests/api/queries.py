"""Counting the queries a request makes for its own work."""

from django.test.utils import CaptureQueriesContext

from core.models import ApiCallCount

COUNTER_TABLE = ApiCallCount._meta.db_table


def work_queries(captured: CaptureQueriesContext) -> list[str]:
    """The SQL a request ran, less the API rate counter's. The counter's first call in a
    new window also deletes the windows that ended, so a request that happens to cross a
    window boundary makes one query more: a count that includes it depends on the clock."""
    return [q["sql"] for q in captured.captured_queries if COUNTER_TABLE not in q["sql"]]
