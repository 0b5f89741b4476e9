"""The dependency direction (core <- cost <- roadmap <- config, demo on top) is enforced
by import-linter in `make lint`; these tests prove the contracts hold today and that an
upward import breaks them."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["config", "core", "cost", "roadmap", "demo"]


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--config",
         str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=cwd, capture_output=True, text=True, check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd)},
    )  # fmt: skip


def test_the_code_keeps_every_import_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_an_upward_import_from_cost_into_roadmap_breaks_the_lint(tmp_path: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    charts = tmp_path / "cost" / "charts.py"
    charts.write_text(charts.read_text() + "\nfrom roadmap.models import RoadmapItem  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "cost is not allowed to import roadmap" in result.stdout
    assert "cost.charts -> roadmap.models" in result.stdout
