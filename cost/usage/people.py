"""Who ran BigQuery jobs, and the team each of them belongs to.

The job history names people and service accounts by email; the usage reports group them
by `roadmap.Team`. Managers map them one by one on a page, or in bulk from a CSV
(`email,team`) that HR or a directory export can produce. The CSV import is all or
nothing: every bad line is reported with the file, line and column, and nothing is
written unless every line is good. Emails the job history has not brought yet get a
`JobUser` row, so a mapping can be loaded before the first job import.

`cost` never imports `roadmap` code: the team model is reached through the JobUser.team
field.
"""

import csv
import datetime
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from core.models import Team
from core.sheets import csv_text, restore
from cost.models import JobUsageDay, JobUser

COLUMNS = ("email", "team")
MAX_ERRORS = 50
MAX_EMAIL_LENGTH: int = JobUser._meta.get_field("email").max_length  # type: ignore[assignment]  # a CharField with max_length
RECENT_DAYS = 28


def team_model() -> type[Team]:
    return JobUser._meta.get_field("team").related_model  # type: ignore[return-value]  # core.Team


@dataclass(frozen=True)
class MappingProblem:
    file: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return _("%(file)s, line %(line)s, column %(column)s: %(message)s") % {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }


class MappingRejected(Exception):
    def __init__(self, problems: list[MappingProblem]):
        super().__init__(f"{len(problems)} problem(s); nothing was imported")
        self.problems = problems


@dataclass(frozen=True)
class MappingResult:
    created: int
    changed: int
    unchanged: int


@dataclass(frozen=True)
class _Line:
    number: int
    email: str
    team: Team | None


def _rows(
    text: str, problem: Callable[[int, str, str], None]
) -> Iterator[tuple[int, dict[str, str]]]:
    """The lines as dicts by column; a line the csv module cannot read is reported with
    `problem` and ends the reading."""
    # newline="": the csv module's own line ends, so \r alone (older Mac spreadsheets)
    # ends a line too, and a quoted cell may hold a line break. strict: a file cut short
    # inside a quoted cell is an error, not a last cell that runs to the end of the file.
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), strict=True)
    header: list[str] | None = None
    try:
        for cells in reader:
            if header is None:
                header = [cell.strip().lower() for cell in cells]
                yield reader.line_num, dict.fromkeys(header, "")
                continue
            if not any(cell.strip() for cell in cells):
                continue  # blank lines (a spreadsheet's trailing rows) say nothing
            row = dict(zip(header, cells, strict=False))
            yield reader.line_num, row
    except csv.Error as error:  # a cell over csv.field_size_limit() (128 KB), say
        problem(reader.line_num, "-", _("cannot be read as CSV: %(error)s") % {"error": error})


def _team_finder() -> dict[str, Team]:
    """Teams by slug (exact) and by name (any case); a slug wins over another's name."""
    teams = list(team_model().objects.all())
    found = {team.name.strip().casefold(): team for team in teams}
    found.update({team.slug: team for team in teams})
    return found


def _read(text: str, filename: str) -> list[_Line]:
    problems: list[MappingProblem] = []

    def problem(line: int, column: str, message: str) -> None:
        problems.append(MappingProblem(filename, line, column, message))

    rows = _rows(text, problem)
    first = next(rows, None)
    if first is None:
        message = _("the file is empty; its first line must be “email,team”")
        raise MappingRejected(problems or [MappingProblem(filename, 1, "-", message)])
    line, header = first
    for column in COLUMNS:
        if column not in header:
            problem(line, column, _("missing column; the first line must be “email,team”"))
    if problems:
        raise MappingRejected(problems)

    teams = _team_finder()
    lines: list[_Line] = []
    seen: dict[str, _Line] = {}
    for number, row in rows:
        if len(problems) >= MAX_ERRORS:
            break
        email = restore((row.get("email") or "").strip())
        name = (row.get("team") or "").strip()
        team = None
        if name:
            team = teams.get(name) or teams.get(name.casefold())
            if team is None:
                problem(number, "team", _("unknown team “%(team)s”: give a team's slug or name")
                        % {"team": name})  # fmt: skip
        if not email:
            problem(number, "email", _("missing email"))
            continue
        # Not printable: NUL (which PostgreSQL cannot store), other control characters.
        if (
            len(email) > MAX_EMAIL_LENGTH
            or "@" not in email
            or any(c.isspace() or not c.isprintable() for c in email)
        ):
            problem(number, "email", _("“%(email)s” is not an email address") % {"email": email})
            continue
        earlier = seen.get(email.casefold())
        if earlier is not None:
            if name and team is None:
                pass  # already reported as an unknown team
            elif earlier.team != team:
                other = earlier.team.slug if earlier.team else _("no team")
                message = _("“%(email)s” is on line %(line)s too, with another team (%(team)s)")
                problem(number, "email", message % {"email": email, "line": earlier.number,
                                                    "team": other})  # fmt: skip
            continue
        entry = _Line(number, email, team)
        seen[email.casefold()] = entry
        lines.append(entry)
    if problems:
        raise MappingRejected(problems[:MAX_ERRORS])
    return lines


def import_team_mapping(*, text: str, filename: str) -> MappingResult:
    """Set the team of every email in a CSV with the columns `email,team`.

    `team` is a team's slug or name; blank means no team. Emails are matched to known
    users without regard to case; unknown ones become new users (a service account if
    the email says so). Nothing is written unless every line is good."""
    lines = _read(text, filename)
    created = changed = unchanged = 0
    with transaction.atomic():
        known: dict[str, list[JobUser]] = {}
        for user in JobUser.objects.select_for_update().only("pk", "email", "team_id"):
            known.setdefault(user.email.casefold(), []).append(user)
        new: list[JobUser] = []
        to_change: list[JobUser] = []
        for line in lines:
            team_id = line.team.pk if line.team is not None else None
            users = known.get(line.email.casefold())
            if not users:
                robot = JobUser.looks_like_service_account(line.email)
                new.append(JobUser(email=line.email, team_id=team_id, is_service_account=robot))
                continue
            for user in users:
                if user.team_id == team_id:
                    unchanged += 1
                else:
                    user.team_id = team_id
                    to_change.append(user)
        JobUser.objects.bulk_create(new, batch_size=500)
        JobUser.objects.bulk_update(to_change, ["team"], batch_size=500)
        created, changed = len(new), len(to_change)
    return MappingResult(created=created, changed=changed, unchanged=unchanged)


def export_team_mapping() -> str:
    """Every known user and their team's slug (blank when unmapped), as CSV that
    `import_team_mapping` reads back without change."""
    rows = JobUser.objects.order_by("email").values_list("email", "team__slug")
    return csv_text(COLUMNS, rows, bom=False)


# --- The list of users --------------------------------------------------------------------


def recent_since(today: datetime.date) -> datetime.date:
    """The first day of the last RECENT_DAYS days, today included."""
    return today - datetime.timedelta(days=RECENT_DAYS - 1)


def job_users(
    *,
    today: datetime.date,
    unmapped: bool = False,
    team: Team | None = None,
    search: str = "",
) -> QuerySet[JobUser]:
    """Users with `recent_jobs` (jobs in the last 28 days, today included) and
    `last_seen` (their newest job ever), busiest first."""
    usage = JobUsageDay.objects.filter(user=OuterRef("pk")).order_by().values("user")
    recent = usage.filter(day__gte=recent_since(today)).annotate(n=Sum("queries")).values("n")
    newest = usage.annotate(at=Max("last_seen")).values("at")
    users = JobUser.objects.select_related("team").annotate(
        recent_jobs=Coalesce(Subquery(recent, output_field=IntegerField()), 0),
        last_seen=Subquery(newest),
    )
    if unmapped:
        users = users.filter(team__isnull=True)
    if team is not None:
        users = users.filter(team=team)
    if search:
        users = users.filter(Q(email__icontains=search))
    return users.order_by("-recent_jobs", "email")


def mapping_counts() -> dict[str, int]:
    """How many users there are, and how many have no team (people and service accounts)."""
    return JobUser.objects.aggregate(
        users=Count("pk"),
        unmapped=Count("pk", filter=Q(team__isnull=True)),
        unmapped_people=Count("pk", filter=Q(team__isnull=True, is_service_account=False)),
    )
