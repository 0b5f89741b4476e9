"""The working folders of import_billing (quarterdeck-ingest-*): one per import, gone when
it ends, and a killed import's folder removed by the next import."""

import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from cost.billing.runs import ImportFailed, import_files
from cost.models import CostFact

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "tests" / "data" / "real-samples"
SAMPLE_JSONL = SAMPLES / "gcp-billing-standard-koku-202011.jsonl"
SAMPLE_CSV = SAMPLES / "gcp-billing-standard-koku-202011.csv"


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system's temporary folder, for this test only."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def folders(root: Path) -> list[str]:
    return sorted(path.name for path in root.iterdir())


def gone_pid() -> int:
    """The id of a process that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_an_import_leaves_no_folder_whether_it_succeeds_or_fails(temp_root, tmp_path):
    import_files(paths=[SAMPLE_JSONL], source_name="clean")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"cost": "twelve"}\n')
    with pytest.raises(ImportFailed):
        import_files(paths=[bad], source_name="clean")
    assert folders(temp_root) == []


def test_the_next_import_removes_the_folders_of_imports_that_are_gone_and_only_those(temp_root):
    killed = temp_root / f"quarterdeck-ingest-{gone_pid()}-k1ll3d_x"
    (killed / "spill").mkdir(parents=True)
    (killed / "0.jsonl").write_text("{}\n")
    running = temp_root / f"quarterdeck-ingest-{os.getpid()}-busy0001"  # another import
    running.mkdir()
    # Named before folders carried their process id: removed once a day old.
    two_days_ago = time.time() - 2 * 24 * 3600
    old = temp_root / "quarterdeck-ingest-x7abc9_2"
    old.mkdir()
    os.utime(old, (two_days_ago, two_days_ago))
    recent = temp_root / "quarterdeck-ingest-q0w9e8r7"
    recent.mkdir()
    (temp_root / "quarterdeck-ingest-a-file").write_text("not a folder")
    (temp_root / "someone-elses").mkdir()

    import_files(paths=[SAMPLE_JSONL], source_name="clean")

    assert folders(temp_root) == sorted(
        [running.name, recent.name, "quarterdeck-ingest-a-file", "someone-elses"]
    )
    assert CostFact.objects.exists()


def test_a_killed_import_billing_leaves_a_folder_the_next_import_removes(temp_root, tmp_path):
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "TMPDIR": str(temp_root),
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "cost", "-v0"], cwd=REPO, env=env,
                   check=True, timeout=300)  # fmt: skip
    with SAMPLE_CSV.open(newline="") as sample:
        header, *rows = list(csv.reader(sample))
    big = tmp_path / "big.csv"  # 10,000 rows: seconds of reading to kill it in
    with big.open("w", newline="") as out:
        csv.writer(out).writerows([header, *rows * 400])
    process = subprocess.Popen(
        [sys.executable, "manage.py", "import_billing", str(big), "--source", "killed"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    try:
        while not list(temp_root.glob(f"quarterdeck-ingest-{process.pid}-*/0.jsonl")):
            assert process.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        process.kill()
        process.wait()
    assert [name.startswith(f"quarterdeck-ingest-{process.pid}-")
            for name in folders(temp_root)] == [True]  # fmt: skip

    import_files(paths=[SAMPLE_JSONL], source_name="next")

    assert folders(temp_root) == []
