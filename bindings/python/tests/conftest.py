"""pytest set-up for the javm binding: the built tool (for `javm asm`), the repository's
conformance vectors, and a closing "python: N passed, N failed" line that the project's
scripts/run-tests.sh counts."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE.parent))  # the package in this tree, not an installed one


def pytest_terminal_summary(terminalreporter):
    stats = terminalreporter.stats
    passed = len(stats.get("passed", []))
    failed = len(stats.get("failed", [])) + len(stats.get("error", []))
    terminalreporter.write_line(f"python: {passed} passed, {failed} failed")


@pytest.fixture(scope="session")
def javm_bin() -> str:
    path = os.environ.get("JAVM_BIN") or str(REPO / "build" / "javm")
    if not os.access(path, os.X_OK):
        pytest.fail(f"the javm tool is needed to assemble test programs: {path} (set JAVM_BIN)")
    return path


@pytest.fixture(scope="session")
def asm(javm_bin, tmp_path_factory):
    """asm(source) -> the raw program blob `javm asm` makes of it."""
    d = tmp_path_factory.mktemp("asm")
    count = [0]

    def assemble(source: str) -> bytes:
        count[0] += 1
        src, out = d / f"p{count[0]}.s", d / f"p{count[0]}.pvm"
        src.write_text(source)
        r = subprocess.run([javm_bin, "asm", str(src), "-o", str(out)], capture_output=True,
                           text=True)
        if r.returncode != 0:
            pytest.fail(f"javm asm failed: {r.stderr}")
        return out.read_bytes()

    return assemble
