"""The demo's two reviews, and what changed in the roadmap between them."""

from dataclasses import dataclass

from demo.items import DemoItem, S
from roadmap.models import (
    ChangeReason,
    Commitment,
    Decision,
    ReviewComment,
)

REVIEW_TITLE = "{quarter} quarterly alignment"
REVIEWERS = ("vp", "peer")


@dataclass(frozen=True)
class DemoThread:
    author: str  # a DEMO_USERS username
    kind: str
    body: str  # Markdown
    item: str | None = None  # the title of the item it is about; None: the whole review
    replies: tuple[tuple[str, str], ...] = ()  # (author, body)
    answer: str | None = None  # the manager's answer, which resolves the thread


@dataclass(frozen=True)
class DemoCommitment:
    description: str
    due: int  # quarter offset from the current quarter
    promised: str = Commitment.Promise.DONE
    owner: str = "manager"


@dataclass(frozen=True)
class DemoDecision:
    item: str
    outcome: str
    rationale: str
    commitments: tuple[DemoCommitment, ...] = ()


@dataclass(frozen=True)
class DemoReview:
    quarter: int  # offset from the current quarter
    threads: tuple[DemoThread, ...]
    # Per item: the (value, urgency) of each of REVIEWERS, in that order.
    votes: tuple[tuple[str, tuple[int, int], tuple[int, int]], ...]
    decisions: tuple[DemoDecision, ...] = ()
    reasons: tuple[tuple[str, str, str], ...] = ()  # item, ChangeReason kind, note


@dataclass(frozen=True)
class DemoChange:
    title: str
    when: tuple[int, int]  # quarter offset, days after its first day (at most 3 days ago)
    status: str | None = None
    target: int | None = None
    effort_weeks: str | None = None
    rice_effort: str | None = None
    note: str = ""  # a sentence added to the description


K, D, P = ReviewComment.Kind, Decision.Outcome, Commitment.Promise
LAST_REVIEW = DemoReview(
    quarter=-1,
    threads=(
        DemoThread(
            "vp",
            K.CONCERN,
            "{next} has **36 person-weeks**, with two people on parental leave, and it "
            "carries the start of the revenue migration *and* the month-close dashboard. "
            "Which items move first if the booked revenue metric runs late?",
            answer="If the metric slips, in this order:\n\n"
            "1. *Finance month-close dashboard* moves a quarter: it is built on the metric "
            "anyway.\n"
            "2. *int_sessions* ships at half scope (web events only).\n\n"
            "The migration keeps its slot: every month it waits, we pay for the legacy "
            "pipeline too.",
        ),
        DemoThread(
            "peer",
            K.SUGGESTION,
            "Could each item say **who stops doing manual work** when it ships? The hours "
            "saved are there, but product managers read names, not numbers.",
            answer="Good idea. *Who benefits* covers most items; I'll fill in the rest "
            "before the {current} review.",
        ),
        DemoThread(
            "vp",
            K.QUESTION,
            "At **$2,400 a month** this is the biggest saving on the page, and it sits in "
            "{next3}. What would it take to switch off a quarter earlier?",
            item="Switch off the legacy nightly sales pipeline",
            answer="The readers have to move first: we dual-run one month close on the new "
            "revenue tables, then wait 60 days with no reads. A quarter earlier means the "
            "migration starting in {current}, which is full. If the interviews go well "
            "I'll bring it back at the {current} review.",
        ),
        DemoThread(
            "peer",
            K.SUPPORT,
            "Strong yes from product analytics. My analysts lose about **two hours a week "
            "each** working out which table has the right grain. @vp this is the cheapest "
            "hour saved on the page.",
            item="Document the 50 most-queried tables",
            replies=(
                (
                    "vp",
                    "Agreed on the problem, not on the timing: documenting tables we are "
                    "about to replace is work we'd do twice. Document the `int_` tables as "
                    "they ship.",
                ),
                (
                    "peer",
                    "80% of queries still hit the old tables today. The top 20 now and the "
                    "rest with the intermediate tables?",
                ),
            ),
            answer="Splitting it as Pedro says: the **top 20** tables in {current}, the rest "
            "as each `int_` table ships.",
        ),
        DemoThread(
            "vp",
            K.CONCERN,
            "16 person-weeks and **+$1,500 a month** for 20 users. Who asked for sub-hour "
            "freshness, and which decision changes because of it?",
            item="Real-time order stream",
            replies=(
                (
                    "peer",
                    "Operations asked, for the warehouse dashboard. When I asked what they "
                    "would do differently with 10-minute data, the answer was *nothing yet*.",
                ),
            ),
        ),
        DemoThread(
            "peer",
            K.SUGGESTION,
            "Please keep the grain at **order line**, not order: half of product's "
            "questions are about which products sell together.",
            item="int_orders_enriched: orders joined with customers and products",
            answer="Order line it is; `int_orders` at order grain comes almost free on top.",
        ),
        DemoThread(
            "vp",
            K.QUESTION,
            "Is this live by the end of {last}? The support leads have asked me twice.",
            item="Support SLA dashboard",
            answer="Yes: first response and resolution times by queue by the end of "
            "{last}. Resolution by plan follows.",
        ),
        DemoThread(
            "peer",
            K.QUESTION,
            "What is the $5,000 one-off? If it's a commitment fee, what happens when usage "
            "drops after the legacy switch-off?",
            item="Move scheduled queries to slot reservations",
        ),
    ),
    votes=(
        ("Interview the 20 heaviest legacy sales users", (4, 5), (4, 4)),
        ("Define a stable 'booked revenue' metric", (5, 4), (4, 4)),
        ("Document the 50 most-queried tables", (2, 2), (5, 5)),
        ("int_orders_enriched: orders joined with customers and products", (4, 3), (5, 4)),
        ("Switch off the legacy nightly sales pipeline", (5, 2), (3, 1)),
        ("Support SLA dashboard", (3, 4), (2, 3)),
        ("Finance month-close dashboard", (4, 3), (3, 2)),
        ("Real-time order stream", (1, 1), (2, 1)),
    ),
    decisions=(
        DemoDecision(
            "Find every reader of the legacy nightly sales pipeline",
            D.APPROVED,
            "The interview list is the first step of the retirement: nothing else on the "
            "theme moves without it.",
            (
                DemoCommitment(
                    "Reader list by team, with query counts, shared with finance and "
                    "product analytics",
                    -1,
                ),
            ),
        ),
        DemoDecision(
            "Executive weekly KPI pack",
            D.APPROVED,
            "Leadership already reads the draft every Monday; finish the automation.",
            (DemoCommitment("KPI email sent automatically every Monday, with commentary", -1),),
        ),
        DemoDecision(
            "Support SLA dashboard",
            D.APPROVED,
            "Support needs it for the {current} staffing plan.",
            (
                DemoCommitment(
                    "First response and resolution times by queue, live for the support leads",
                    -1,
                ),
            ),
        ),
        DemoDecision(
            "Interview the 20 heaviest legacy sales users",
            D.APPROVED,
            "Ask for the decision each figure feeds, not only which figures people use.",
            (
                DemoCommitment("Interviews under way, finance analysts first", 0, P.IN_PROGRESS),
                DemoCommitment("Interview notes and the figures that must not change", 0),
            ),
        ),
        DemoDecision(
            "int_orders_enriched: orders joined with customers and products",
            D.APPROVED_WITH_CHANGES,
            "At **order-line** grain (see the thread), with `int_orders` at order grain on top.",
            (DemoCommitment("int_orders_enriched in production, tested and documented", 0),),
        ),
        DemoDecision(
            "Document the 50 most-queried tables",
            D.APPROVED_WITH_CHANGES,
            "The top 20 tables in {current}; the rest as each intermediate table ships, so "
            "nothing is documented twice.",
            (DemoCommitment("The 20 most-queried tables documented in dbt docs", 0),),
        ),
        DemoDecision(
            "Define a stable 'booked revenue' metric",
            D.APPROVED,
            "Finance owns the definition; we own the tables.",
            (DemoCommitment("Definition agreed with finance", 0, P.IN_PROGRESS, owner="finance"),),
        ),
        DemoDecision(
            "Real-time order stream",
            D.REJECTED,
            "No decision changes with 10-minute data, and it would cost 16 person-weeks and "
            "$1,500 a month. Operations can bring it back with a decision that needs it.",
        ),
        DemoDecision(
            "Retire the legacy marketing attribution export",
            D.DEFERRED,
            "Three readers left. It waits for *int_sessions*, so the replacement view has "
            "something to stand on; revisit at the {next} review.",
        ),
        DemoDecision(
            "Move scheduled queries to slot reservations",
            D.NEEDS_INFORMATION,
            "Bring a month of slot use of the nightly batch and a forecast for after the "
            "legacy switch-off; then we decide.",
        ),
    ),
)

# What happened to the roadmap between the two reviews (new items in NEW_REQUESTS).
SINCE_LAST_REVIEW = [
    DemoChange(
        "Real-time order stream",
        (-1, 18),
        status=S.DROPPED,
        note="Dropped at the {last} review: nobody needs sub-hour freshness yet.",
    ),
    DemoChange("Find every reader of the legacy nightly sales pipeline", (-1, 40), status=S.DONE),
    DemoChange("Executive weekly KPI pack", (-1, 79), status=S.DONE),
    DemoChange("Support SLA dashboard", (-1, 85), target=0),
    DemoChange("Interview the 20 heaviest legacy sales users", (0, 2), status=S.IN_PROGRESS),
    DemoChange(
        "Define a stable 'booked revenue' metric",
        (0, 20),
        effort_weeks="8",
        rice_effort="2",
    ),
]
NEW_REQUESTS = [
    (
        (-1, 72),
        DemoItem(
            "Month-close variance report: legacy vs new booked revenue",
            "Legacy pipeline retirement",
            S.PROPOSED,
            1,
            1,
            "During the dual run, explain every difference between the legacy and the new "
            "booked revenue at month close, so the auditors sign off the switch.",
            reach=30,
            impact="2",
            confidence=80,
            rice_effort="1",
            wsjf=(8, 8, 8, 3),
            effort_weeks="3",
            users=30,
            hours_saved="12",
            chain="finance analysts -> auditors -> CFO",
            requesters=("finance",),
            depends_on=("Define a stable 'booked revenue' metric",),
        ),
    ),
]

CURRENT_REVIEW = DemoReview(
    quarter=0,
    threads=(
        DemoThread(
            "vp",
            K.QUESTION,
            "This was committed for the end of {last} and now sits in {current}. What is "
            "left, and how sure are we of the new date?",
            item="Support SLA dashboard",
            replies=(
                (
                    "manager",
                    "The queue mapping is rebuilt; resolution times by plan are left, about a "
                    "week. Safe for {current}, and I'll say so at the meeting.",
                ),
            ),
        ),
        DemoThread(
            "peer",
            K.CONCERN,
            "Now **8 weeks** instead of 6, and the migration and the month-close dashboard "
            "both wait for it. If it slips again, does the legacy switch-off leave {next3}?",
            item="Define a stable 'booked revenue' metric",
        ),
        DemoThread(
            "vp",
            K.SUPPORT,
            "Yes. The auditors will ask for this whatever we do; better that we control it. "
            "@manager can finance's close calendar take a dual run in {next}?",
            item="Month-close variance report: legacy vs new booked revenue",
        ),
        DemoThread(
            "peer",
            K.SUGGESTION,
            "Could the pack open with last quarter's commitments? The ones kept are worth "
            "saying out loud, and the missed one is the one support asks me about.",
        ),
    ),
    votes=(
        ("Define a stable 'booked revenue' metric", (5, 5), (5, 4)),
        ("Migrate legacy sales readers to the new revenue tables", (5, 3), (3, 3)),
        ("Month-close variance report: legacy vs new booked revenue", (4, 4), (2, 2)),
        ("Document the 50 most-queried tables", (3, 2), (5, 4)),
        ("int_sessions: one row per user session", (3, 2), (4, 4)),
    ),
    reasons=(
        (
            "Support SLA dashboard",
            ChangeReason.Kind.SCOPE_GREW,
            "Support moved to a new ticketing tool during {last}; the queue mapping had to "
            "be rebuilt before first response could be shown by queue.",
        ),
        (
            "Define a stable 'booked revenue' metric",
            ChangeReason.Kind.ESTIMATE_REFINED,
            "The first interviews found two definitions of booked in use (order date and "
            "invoice date); both need a reconciled history.",
        ),
    ),
)
