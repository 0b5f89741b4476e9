from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from roadmap.models import ReviewSession
from roadmap.reviews.packs.render import build_review_pack


class Command(BaseCommand):
    help = (
        "Build a review session's pack (kept as its next version, like the button on the "
        "session page) and write one of its formats to a file."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("session_id", type=int)
        parser.add_argument("--format", choices=["pdf", "html", "md", "pptx"], default="pdf")
        parser.add_argument("--out", required=True, help="the file to write")

    def handle(self, *args, session_id: int, format: str, out: str, **options) -> None:
        session = ReviewSession.objects.select_related("quarter").filter(pk=session_id).first()
        if session is None:
            raise CommandError(f"no review session with id {session_id}")
        target = Path(out)
        if not target.parent.is_dir():
            raise CommandError(f"{target.parent} is not a folder")
        pack = build_review_pack(session=session, by=None)
        body = {"pdf": bytes(pack.pdf), "html": pack.html.encode(), "md": pack.markdown.encode(),
                "pptx": bytes(pack.pptx)}  # fmt: skip
        target.write_bytes(body[format])
        self.stdout.write(
            f"{session.title}: pack v{pack.version} ({format}, {len(body[format]):,} bytes) "
            f"written to {target}; content hash {pack.content_hash[:12]}"
        )
