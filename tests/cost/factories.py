import datetime
import gzip
import json
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import factory
from django.utils import timezone

from cost.billing.facts import label_set_ids
from cost.models import BillingMonth, BillingSource, CostFact, ImportRun, LabelSet, to_nanos


class BillingSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillingSource
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"source-{n}")


class ImportRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportRun

    source = factory.SubFactory(BillingSourceFactory)
    status = ImportRun.Status.SUCCEEDED
    finished_at = factory.LazyFunction(timezone.now)


class BillingMonthFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillingMonth

    source = factory.SubFactory(BillingSourceFactory)
    invoice_month = "202611"
    run = factory.SubFactory(ImportRunFactory, source=factory.SelfAttribute("..source"))
    valid_from = factory.LazyFunction(timezone.now)
    digest = factory.Sequence(lambda n: f"{n:064x}")


def label_set(**labels: str) -> LabelSet:
    """The label set with these resource labels (and its Label rows), created if new."""
    pairs = tuple(sorted(labels.items()))
    ids = label_set_ids([SimpleNamespace(labels=pairs, project_labels=())])
    return LabelSet.objects.get(pk=ids[(pairs, ())])


class CostFactFactory(factory.django.DjangoModelFactory):
    """A daily fact; give `cost` and `credits` as Decimal amounts."""

    class Meta:
        model = CostFact
        exclude = ["cost", "credits"]

    month = factory.SubFactory(BillingMonthFactory)
    invoice_month = factory.SelfAttribute("month.invoice_month")
    usage_date = datetime.date(2026, 11, 10)
    billing_account_id = "01A2B3-C4D5E6-F7A8B9"
    project_id = "acme-analytics-prod"
    service_id = "24E6-581D-38E5"
    service_description = "BigQuery"
    sku_id = "F17B-412E-CB64"
    sku_description = "Analysis"
    cost_type = "regular"
    currency = "USD"
    label_set = factory.LazyFunction(lambda: label_set())
    cost = Decimal("10")
    credits = Decimal("0")
    cost_nanos = factory.LazyAttribute(lambda fact: to_nanos(fact.cost))
    credits_nanos = factory.LazyAttribute(lambda fact: to_nanos(fact.credits))
    cost_usd_nanos = factory.SelfAttribute("cost_nanos")
    credits_usd_nanos = factory.SelfAttribute("credits_nanos")


# --- Job history (INFORMATION_SCHEMA.JOBS rows as an export writes them) ---------------------


def table_ref(name: str, dataset: str = "marts") -> dict:
    return {"project_id": "acme", "dataset_id": dataset, "table_id": name}


def job_row(job_id: str, **fields) -> dict:
    """A QUERY job by ann@acme.example on 20 Nov 2026 reading acme.marts.orders; `fields`
    replace any column."""
    row = {
        "creation_time": "2026-11-20 10:00:00 UTC",
        "project_id": "acme",
        "job_id": job_id,
        "user_email": "ann@acme.example",
        "job_type": "QUERY",
        "statement_type": "SELECT",
        "total_bytes_billed": "0",
        "referenced_tables": [table_ref("orders")],
    }
    row.update(fields)
    return row


def write_jobs(path: Path, rows: list, *, compress: bool = False) -> Path:
    """Rows as newline-delimited JSON, gzipped if asked."""
    text = "".join(json.dumps(row) + "\n" for row in rows)
    if compress:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path
