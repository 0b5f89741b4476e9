"""Users to teams: the CSV mapping (all or nothing, every problem named) and its export."""

import pytest

from cost.models import JobUser
from cost.usage.people import (
    MappingProblem,
    MappingRejected,
    export_team_mapping,
    import_team_mapping,
)
from tests.roadmap.factories import TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def teams():
    return {
        "ae": TeamFactory(slug="ae", name="Analytics Engineering"),
        "finance": TeamFactory(slug="finance", name="Finance"),
    }


def mapping() -> dict[str, tuple[str | None, bool]]:
    return {
        user.email: (user.team.slug if user.team else None, user.is_service_account)
        for user in JobUser.objects.select_related("team")
    }


def rejected(text: str, filename: str = "teams.csv") -> list[tuple[int, str, str]]:
    with pytest.raises(MappingRejected) as failed:
        import_team_mapping(text=text, filename=filename)
    assert all(problem.file == filename for problem in failed.value.problems)
    return [(p.line, p.column, p.message) for p in failed.value.problems]


def test_import_maps_known_users_and_creates_the_others(teams):
    JobUser.objects.create(email="ann@acme.example")
    JobUser.objects.create(email="bob@acme.example", team=teams["finance"])
    JobUser.objects.create(email="cy@acme.example", team=teams["ae"])
    text = (
        "email,team\n"
        "ann@acme.example,ae\n"  # was unmapped: changed
        "bob@acme.example,Analytics Engineering\n"  # a team's name works too: changed
        "cy@acme.example,ae\n"  # unchanged
        "etl@acme-analytics.iam.gserviceaccount.com,ae\n"  # new, a service account
        "dee@acme.example,\n"  # new, no team yet
    )
    result = import_team_mapping(text=text, filename="teams.csv")
    assert (result.created, result.changed, result.unchanged) == (2, 2, 1)
    assert mapping() == {
        "ann@acme.example": ("ae", False),
        "bob@acme.example": ("ae", False),
        "cy@acme.example": ("ae", False),
        "etl@acme-analytics.iam.gserviceaccount.com": ("ae", True),
        "dee@acme.example": (None, False),
    }


def test_second_import_of_the_same_file_changes_nothing(teams):
    text = "email,team\nann@acme.example,ae\nbob@acme.example,finance\n"
    first = import_team_mapping(text=text, filename="teams.csv")
    second = import_team_mapping(text=text, filename="teams.csv")
    assert (first.created, first.changed, first.unchanged) == (2, 0, 0)
    assert (second.created, second.changed, second.unchanged) == (0, 0, 2)
    assert JobUser.objects.count() == 2


def test_blank_team_unmaps_and_case_of_email_and_header_does_not_matter(teams):
    JobUser.objects.create(email="ann@acme.example", team=teams["ae"])
    text = "\ufeff Email , TEAM \nAnn@Acme.example,\n\n"
    result = import_team_mapping(text=text, filename="teams.csv")
    assert (result.created, result.changed, result.unchanged) == (0, 1, 0)
    assert mapping() == {"ann@acme.example": (None, False)}


def test_the_same_email_twice_with_the_same_team_is_fine(teams):
    text = "email,team\nann@acme.example,ae\nANN@acme.example,Analytics Engineering\n"
    result = import_team_mapping(text=text, filename="teams.csv")
    assert (result.created, result.changed, result.unchanged) == (1, 0, 0)


def test_unknown_team_is_named_with_file_line_and_column(teams):
    assert rejected("email,team\nann@acme.example,ae\nbob@acme.example,growth\n") == [
        (3, "team", "unknown team “growth”: give a team's slug or name"),
    ]


def test_missing_email_is_named(teams):
    assert rejected("email,team\n ,ae\n") == [(2, "email", "missing email")]


def test_something_that_is_not_an_email_is_named(teams):
    assert rejected("email,team\nann at acme,ae\n") == [
        (2, "email", "“ann at acme” is not an email address")
    ]


def test_duplicate_email_with_another_team_is_named_on_its_second_line(teams):
    text = "email,team\nann@acme.example,ae\nbob@acme.example,ae\nAnn@acme.example,finance\n"
    assert rejected(text) == [
        (4, "email", "“Ann@acme.example” is on line 2 too, with another team (ae)"),
    ]


def test_missing_columns_and_empty_file_are_named(teams):
    assert rejected("mail,group\nann@acme.example,ae\n") == [
        (1, "email", "missing column; the first line must be “email,team”"),
        (1, "team", "missing column; the first line must be “email,team”"),
    ]
    assert rejected("") == [(1, "-", "the file is empty; its first line must be “email,team”")]


def test_every_problem_is_listed_and_nothing_is_written(teams):
    JobUser.objects.create(email="ann@acme.example")
    text = "email,team\nann@acme.example,ae\nnew@acme.example,ae\n,ae\nbob@acme.example,nope\n"
    assert rejected(text) == [
        (4, "email", "missing email"),
        (5, "team", "unknown team “nope”: give a team's slug or name"),
    ]
    assert mapping() == {"ann@acme.example": (None, False)}


@pytest.mark.parametrize("end", ["\r", "\r\n", "\n"])
def test_lines_may_end_as_any_spreadsheet_ends_them(teams, end):
    text = end.join(["email,team", "ann@acme.example,ae", '"bob@acme.example",finance', ""])
    result = import_team_mapping(text=text, filename="teams.csv")
    assert (result.created, result.changed, result.unchanged) == (2, 0, 0)
    assert mapping() == {"ann@acme.example": ("ae", False), "bob@acme.example": ("finance", False)}


def test_a_cell_too_long_for_the_csv_reader_is_named_with_its_line(teams):
    text = 'email,team\nann@acme.example,ae\n"' + "x" * 200_000 + '",ae\nbob@acme.example,ae\n'
    assert rejected(text) == [
        (3, "-", "cannot be read as CSV: field larger than field limit (131072)")
    ]
    assert rejected('"' + "x" * 200_000 + '"\n') == [
        (1, "-", "cannot be read as CSV: field larger than field limit (131072)")
    ]
    assert not JobUser.objects.exists()


def test_an_email_with_a_control_character_is_named(teams):
    # PostgreSQL cannot store NUL; a tab or a zero-width space is no part of an address.
    text = "email,team\nann\x00@acme.example,ae\nbob\u200b@acme.example,ae\n"
    assert rejected(text) == [
        (2, "email", "“ann\x00@acme.example” is not an email address"),
        (3, "email", "“bob\u200b@acme.example” is not an email address"),
    ]


def test_a_problem_reads_with_file_line_and_column():
    problem = MappingProblem("teams.csv", 3, "team", "unknown team “x”")
    assert str(problem) == "teams.csv, line 3, column team: unknown team “x”"


def test_export_reads_back_without_change_and_defuses_formulas(teams):
    JobUser.objects.create(email="ann@acme.example", team=teams["ae"])
    JobUser.objects.create(email="=cmd@acme.example")
    JobUser.objects.create(
        email="etl@p.iam.gserviceaccount.com", team=teams["finance"], is_service_account=True
    )
    text = export_team_mapping()
    assert text == (
        "email,team\r\n"
        "'=cmd@acme.example,\r\n"
        "ann@acme.example,ae\r\n"
        "etl@p.iam.gserviceaccount.com,finance\r\n"
    )
    result = import_team_mapping(text=text, filename="export.csv")
    assert (result.created, result.changed, result.unchanged) == (0, 0, 3)
    assert JobUser.objects.count() == 3


# --- Found by an outside probe (issue 19) ------------------------------------------------


def test_a_file_cut_short_inside_a_quoted_cell_is_refused(teams):
    text = 'email,team\nann@acme.example,ae\nbob@acme.example,"ae'  # the closing quote lost
    assert rejected(text) == [(3, "-", "cannot be read as CSV: unexpected end of data")]
    assert not JobUser.objects.exists()


def test_a_nul_character_is_refused_before_the_database_sees_it(teams):
    # PostgreSQL stores no NUL in text; neither cell may reach it.
    text = "email,team\nann\x00@acme.example,ae\nbob@acme.example,a\x00e\n"
    assert rejected(text) == [
        (2, "email", "“ann\x00@acme.example” is not an email address"),
        (3, "team", "unknown team “a\x00e”: give a team's slug or name"),
    ]
    assert not JobUser.objects.exists()
