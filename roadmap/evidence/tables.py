"""Evidence behind an item: the tables it retires or builds on, their usage from the job
history, the figures the manager chose to cite, and what the teams interviewed said.

Packs read the cited figures and the interviews as they stood at the pack's moment (their
history), so a pack rebuilt for the same moment says the same.
"""

import datetime
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core.models import Team
from cost.models import BigQueryTable
from cost.usage.tables import TableEvidence, usage_of_tables
from roadmap.items.planning import save_item
from roadmap.models import ItemTable, RoadmapItem, StakeholderInterview

EVIDENCE_DAYS = 90  # the period the item page shows and "Use these figures" cites
TABLES_NAMED_IN_SUMMARY = 4


class NoUsageEvidence(Exception):
    """There is nothing to cite: no tables named, or no job history for the period."""


class ChangedMeanwhile(Exception):
    """The item's tables, or the interview, changed since the form was loaded: nothing
    was saved."""


# --- Tables ------------------------------------------------------------------------------


# A part longer than the table model keeps is no BigQuery name, and would not even fit its
# column on PostgreSQL.
PART_TOO_LONG = {
    "project_id": gettext_lazy("the project has more than %(limit)s characters"),
    "dataset_id": gettext_lazy("the dataset has more than %(limit)s characters"),
    "table_id": gettext_lazy("the table has more than %(limit)s characters"),
}


def split_table_name(line: str) -> tuple[str, str, str]:
    """`BigQueryTable.split_name`, with the backticks of `project`.`dataset`.`table` (how
    BigQuery quotes each part) left out too: ValueError if it is no table name."""
    project, dataset, table = (part.strip("`").strip() for part in BigQueryTable.split_name(line))
    parts = (project, dataset, table)
    if not all(parts):
        raise ValueError(
            _("“%(name)s” is not a table name of the form project.dataset.table") % {"name": line}
        )
    for part, (field, too_long) in zip(parts, PART_TOO_LONG.items(), strict=True):
        # A CharField with a max_length, which get_field(name) cannot type by a variable name.
        limit: int = BigQueryTable._meta.get_field(field).max_length  # type: ignore[union-attr,assignment]
        if len(part) > limit:
            raise ValueError(too_long % {"limit": limit})
    return parts


def parse_table_names(lines: Iterable[str]) -> list[tuple[str, str, str]]:
    """`project.dataset.table` per line (blank lines skipped, repeats once) -> the parts.
    ValidationError names every bad line by its number."""
    names: list[tuple[str, str, str]] = []
    problems = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            parts = split_table_name(line)
        except ValueError as error:
            problems.append(
                ValidationError(
                    _("Line %(number)s: %(problem)s"),
                    params={"number": number, "problem": str(error)},
                )
            )
            continue
        if parts not in names:
            names.append(parts)
    if problems:
        raise ValidationError(problems)
    return names


def _table(parts: tuple[str, str, str]) -> BigQueryTable:
    project, dataset, table = parts
    found, _created = BigQueryTable.objects.get_or_create(
        project_id=project, dataset_id=dataset, table_id=table
    )
    return found


def tables_digest(item: RoadmapItem) -> str:
    """The item's tables and their roles, in short: a form carries it to tell whether they
    changed since it was loaded."""
    links = sorted(ItemTable.objects.filter(item=item).values_list("role", "table_id"))
    return hashlib.sha256(repr(links).encode()).hexdigest()[:16]


def set_item_tables(
    *, item: RoadmapItem, retire: list[str], build_on: list[str], seen: str | None = None
) -> list[ItemTable]:
    """Make the item's tables exactly these (one name per entry); tables not seen in the
    job history yet are recorded, so the evidence appears once they are. Nothing changes
    unless every name is good: ValidationError by field (`retire`, `build_on`); nor if
    `seen` (a `tables_digest`) is given and the tables changed since: ChangedMeanwhile."""
    errors: dict[str, list] = {}
    parsed = {}
    for field, lines in (("retire", retire), ("build_on", build_on)):
        try:
            parsed[field] = parse_table_names(lines)
        except ValidationError as error:
            errors[field] = error.error_list
    if not errors:
        both = [parts for parts in parsed["build_on"] if parts in parsed["retire"]]
        if both:
            errors["build_on"] = [
                ValidationError(
                    _(
                        "%(table)s is listed to retire as well; an item retires a table or "
                        "builds on it."
                    ),
                    params={"table": ".".join(parts)},
                )
                for parts in both
            ]
    if errors:
        raise ValidationError(errors)
    wanted = {}
    with transaction.atomic():
        # Under the item's lock: of two saves made from the same tables, the second is
        # refused instead of silently undoing the first.
        RoadmapItem.objects.select_for_update().filter(pk=item.pk).exists()
        if seen is not None and seen != tables_digest(item):
            raise ChangedMeanwhile
        for role, field in (
            (ItemTable.Role.RETIRE, "retire"),
            (ItemTable.Role.BUILD_ON, "build_on"),
        ):
            for parts in parsed[field]:
                wanted[_table(parts).pk] = role
        ItemTable.objects.filter(item=item).exclude(table_id__in=list(wanted)).delete()
        for table_id, role in wanted.items():
            ItemTable.objects.update_or_create(
                item=item, table_id=table_id, defaults={"role": role}
            )
    return list(ItemTable.objects.filter(item=item).select_related("table"))


def tables_by_role(item: RoadmapItem) -> dict[str, list[BigQueryTable]]:
    tables: dict[str, list[BigQueryTable]] = {role: [] for role in ItemTable.Role.values}
    links = ItemTable.objects.filter(item=item).select_related("table")
    for link in sorted(links, key=lambda link: link.table.full_name):
        tables[link.role].append(link.table)
    return tables


# --- Usage -------------------------------------------------------------------------------


def evidence_period(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The last EVIDENCE_DAYS days, today included."""
    return today - datetime.timedelta(days=EVIDENCE_DAYS - 1), today


def item_usage(*, item: RoadmapItem, today: datetime.date) -> TableEvidence:
    since, until = evidence_period(today)
    tables = [link.table for link in ItemTable.objects.filter(item=item).select_related("table")]
    return usage_of_tables(tables=tables, since=since, until=until)


def _period_label(first: datetime.date, last: datetime.date) -> str:
    start = date_format(first, "j M" if first.year == last.year else "j M Y")
    return f"{start} \N{EN DASH} {date_format(last, 'j M Y')}"


def _table_names(tables: Iterable[BigQueryTable]) -> str:
    names = sorted(table.full_name for table in tables)
    if len(names) <= TABLES_NAMED_IN_SUMMARY:
        return ", ".join(names)
    rest = len(names) - TABLES_NAMED_IN_SUMMARY
    return _("%(names)s and %(count)s more") % {
        "names": ", ".join(names[:TABLES_NAMED_IN_SUMMARY]),
        "count": rest,
    }


def usage_summary(evidence: TableEvidence) -> str:
    """The figures as one sentence, for the item's benefit evidence."""
    since, until = evidence.covered_since, evidence.covered_until
    # Only asked for an item with job history (apply_usage_evidence checks).
    assert since is not None  # noqa: S101
    assert until is not None  # noqa: S101
    people = ngettext("%(n)s person", "%(n)s people", evidence.people) % {
        "n": f"{evidence.people:,}"
    }
    accounts = ngettext(
        "%(n)s service account", "%(n)s service accounts", evidence.service_accounts
    ) % {"n": f"{evidence.service_accounts:,}"}
    teams = ngettext("%(n)s team", "%(n)s teams", evidence.teams) % {"n": f"{evidence.teams:,}"}
    queries = ngettext("%(n)s query", "%(n)s queries", evidence.queries) % {
        "n": f"{evidence.queries:,}"
    }
    return _(
        "From BigQuery job history, %(period)s: %(people)s and %(accounts)s in %(teams)s ran "
        "%(queries)s on %(tables)s; allocated query cost %(cost)s a month."
    ) % {
        "period": _period_label(since, until),
        "people": people,
        "accounts": accounts,
        "teams": teams,
        "queries": queries,
        "tables": _table_names(evidence.tables),
        "cost": evidence.monthly_money,
    }


def apply_usage_evidence(
    *,
    item: RoadmapItem,
    by: User | None,
    today: datetime.date,
    expected_version: int | None = None,
) -> RoadmapItem:
    """Put the last 90 days' figures into the item: users affected (distinct people who
    queried its tables; service accounts are not users) and the evidence sentence. A new
    version of the item, recorded in its history like any edit. With `expected_version`
    (the version the manager's page showed), an item changed since is not overwritten:
    EditConflict."""
    evidence = item_usage(item=item, today=today)
    if not evidence.tables:
        raise NoUsageEvidence(_("Name the tables this item retires or builds on first."))
    if not evidence.has_history:
        since, until = evidence_period(today)
        raise NoUsageEvidence(
            _("No job history covers %(period)s yet: import the job history first.")
            % {"period": _period_label(since, until)}
        )
    with transaction.atomic():
        current = RoadmapItem.objects.select_for_update().get(pk=item.pk)
        current.users_affected = evidence.people
        current.usage_evidence = usage_summary(evidence)
        current.usage_evidence_at = timezone.now()
        return save_item(
            item=current,
            requesting_teams=current.requesting_teams.all(),
            depends_on=current.depends_on.all(),
            expected_version=current.version if expected_version is None else expected_version,
            by=by,
        )


@dataclass(frozen=True)
class ItemEvidence:
    """All an item page shows of the evidence: tables, their usage, the interviews."""

    tables: dict[str, list[BigQueryTable]]  # by ItemTable.Role
    usage: TableEvidence
    interviews: list[StakeholderInterview]

    @property
    def has_tables(self) -> bool:
        return any(self.tables.values())

    @property
    def retire(self) -> list[BigQueryTable]:
        return self.tables[ItemTable.Role.RETIRE]

    @property
    def build_on(self) -> list[BigQueryTable]:
        return self.tables[ItemTable.Role.BUILD_ON]

    @property
    def teams(self) -> list[Team]:
        """The distinct teams interviewed, by name."""
        teams = {interview.team_id: interview.team for interview in self.interviews}
        return sorted(teams.values(), key=lambda team: team.name)


def item_evidence(*, item: RoadmapItem, today: datetime.date) -> ItemEvidence:
    tables = tables_by_role(item)
    since, until = evidence_period(today)
    every = [table for role_tables in tables.values() for table in role_tables]
    return ItemEvidence(
        tables=tables,
        usage=usage_of_tables(tables=every, since=since, until=until),
        interviews=list(item.interviews.select_related("team").order_by("-date", "-id")),
    )


# --- As of a moment (review packs) --------------------------------------------------------


def usage_evidence_as_of(*, item_ids: Iterable[int], as_of: datetime.datetime) -> dict[int, str]:
    """Each item's cited usage evidence as it read at `as_of` (empty ones left out)."""
    rows = (
        RoadmapItem.history.as_of(as_of)
        .filter(id__in=list(item_ids))
        .values_list("id", "usage_evidence")
    )
    return {item_id: text for item_id, text in rows if text}
