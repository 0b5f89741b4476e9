"""Import runs: read billing data (files or BigQuery), store it as month versions, record
what happened. A failed run writes no fact and says why. A file import into a source
that does not exist yet makes the source only with its first good run: a failed one
leaves nothing behind, not even its run (which would need the source).

One import at a time per source: a second one raises cost.locks.Busy naming the first,
and writes nothing. A run whose process died is marked failed by the next look at the
runs (`ImportRun.objects.reap()`)."""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cost import locks
from cost.billing.allocation import allocate_months
from cost.billing.facts import DailyFact, store_facts
from cost.billing.files import BadFiles, Progress, aggregate_files, describe_files
from cost.models import BillingMonth, BillingSource, ImportRun


class ImportFailed(Exception):
    """Nothing was stored; `run` is the failed run, None when the source was new (and so
    was not made either)."""

    def __init__(self, run: ImportRun | None, problems: list | None = None, message: str = ""):
        super().__init__(run.error if run is not None else message)
        self.run = run
        self.problems = problems or []


def _loaded_from_bigquery(source: BillingSource) -> str:
    return _("source %r is loaded from BigQuery by pull_billing; load files into another "
             "source (--source NAME)") % source.name  # fmt: skip


def start_run(
    *, source: BillingSource, by: User | None, by_name: str, files: list[dict]
) -> ImportRun:
    """A running run holding `source` (call inside `holding(source)`); locks.Busy if
    another live run holds it."""
    run = ImportRun(source=source, started_by=by, started_by_name=by_name, files=files)
    run.start()
    return run


@contextmanager
def holding(source_id: int) -> Iterator[None]:
    """The span of an import into the source: its lock (PostgreSQL) is given back at the
    end, after every transaction of the import has committed or rolled back."""
    try:
        yield
    finally:
        ImportRun(source_id=source_id).release()


def fail_run(run: ImportRun, message: str, problems: list | None = None) -> ImportFailed:
    run.mark_failed(message)
    return ImportFailed(run, problems)


@transaction.atomic
def finish_run(
    *, run: ImportRun, facts: Iterable[DailyFact], rows_read: int, bytes_read: int = 0
) -> ImportRun:
    """Store the facts, attribute the new months and close the run: all or nothing."""
    if connection.vendor == "postgresql":
        # A bulk load can be run again: skip waiting for the WAL flush at commit (about a
        # second per million rows). A server crash may lose the newest run, never corrupt.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
    outcomes = store_facts(source=run.source, run=run, facts=facts)
    changed = [o.month for o in outcomes if o.outcome != "unchanged"]
    if changed:
        allocate_months(BillingMonth.objects.filter(run=run, invoice_month__in=changed).current())
    run.status = ImportRun.Status.SUCCEEDED
    run.months = [outcome.as_json() for outcome in outcomes]
    run.rows_read = rows_read
    run.bytes_read = bytes_read
    run.facts_written = sum(o.facts for o in outcomes if o.outcome != "unchanged")
    run.finished_at = timezone.now()
    run.save()
    return run


def import_files(
    *,
    paths: list[Path],
    source_name: str,
    by: User | None = None,
    by_name: str = "",
    progress: Progress | None = None,
    shape: str | None = None,
) -> ImportRun:
    """Load billing export files into `source_name` (created as a file source if new, and
    only if the import succeeds). `shape` is the export's (cost.billing.shapes: standard,
    detailed or FOCUS), or None to tell it from the files."""
    source = BillingSource.objects.filter(name=source_name).first()
    if source is None:
        return _import_into_new_source(
            paths=paths, source_name=source_name, by=by, by_name=by_name, progress=progress,
            shape=shape,
        )  # fmt: skip
    with holding(source.pk):
        return _import_into(source=source, paths=paths, by=by, by_name=by_name,
                            progress=progress, shape=shape)  # fmt: skip


def _import_into(
    *,
    source: BillingSource,
    paths: list[Path],
    by: User | None,
    by_name: str,
    progress: Progress | None,
    shape: str | None,
) -> ImportRun:
    if source.kind != BillingSource.Kind.FILES:
        run = start_run(source=source, by=by, by_name=by_name,
                        files=[{"name": str(path)} for path in paths])  # fmt: skip
        raise fail_run(run, _loaded_from_bigquery(source))
    try:
        files = describe_files(paths)
    except BadFiles as bad:
        run = start_run(source=source, by=by, by_name=by_name,
                         files=[{"name": str(path)} for path in paths])  # fmt: skip
        raise fail_run(run, "; ".join(map(str, bad.problems)), bad.problems) from None
    run = start_run(source=source, by=by, by_name=by_name, files=[file.as_json() for file in files])
    try:
        aggregate = aggregate_files(files, shape=shape, progress=progress)
    except BadFiles as bad:
        raise fail_run(run, "; ".join(map(str, bad.problems)), bad.problems) from None
    except Exception as error:
        # Never leave a run "running": whatever went wrong is on the run, and nothing
        # was stored.
        raise fail_run(run, _("could not read the files: %r") % error) from error
    run.files = _with_shape(run.files, aggregate.shape)
    try:
        return finish_run(
            run=run,
            facts=aggregate.facts,
            rows_read=aggregate.rows_read,
            bytes_read=sum(file.size for file in files),
        )
    except Exception as error:
        raise fail_run(run, _("could not store the facts: %s") % error) from error


def _import_into_new_source(
    *,
    paths: list[Path],
    source_name: str,
    by: User | None,
    by_name: str,
    progress: Progress | None,
    shape: str | None,
) -> ImportRun:
    """Read first; make the source, the run and the facts in one transaction once the
    files are good. ImportFailed carries no run then: there is no source to hold one."""
    started = timezone.now()
    try:
        files = describe_files(paths)
        aggregate = aggregate_files(files, shape=shape, progress=progress)
    except BadFiles as bad:
        raise ImportFailed(None, bad.problems, "; ".join(map(str, bad.problems))) from None
    except Exception as error:
        message = _("could not read the files: %r") % error
        raise ImportFailed(None, message=message) from error
    held: list[int] = []
    try:
        with transaction.atomic():
            source, _created = BillingSource.objects.get_or_create(
                name=source_name, defaults={"kind": BillingSource.Kind.FILES}
            )
            if source.kind != BillingSource.Kind.FILES:  # made by a pull meanwhile
                raise ImportFailed(None, message=_loaded_from_bigquery(source))
            held.append(source.pk)
            described = _with_shape([file.as_json() for file in files], aggregate.shape)
            run = start_run(source=source, by=by, by_name=by_name, files=described)
            # The run began when the reading did, not when the storing does.
            ImportRun.objects.filter(pk=run.pk).update(started_at=started)
            run.started_at = started
            return finish_run(
                run=run,
                facts=aggregate.facts,
                rows_read=aggregate.rows_read,
                bytes_read=sum(file.size for file in files),
            )
    except (ImportFailed, locks.Busy):
        raise
    except Exception as error:
        message = _("could not store the facts: %s") % error
        raise ImportFailed(None, message=message) from error
    finally:
        for source_id in held:
            ImportRun(source_id=source_id).release()


def _with_shape(files: list[dict], shape: str) -> list[dict]:
    """The run's files, each saying which export it was read as."""
    return [{**file, "shape": shape} for file in files]
