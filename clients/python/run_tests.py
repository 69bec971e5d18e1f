"""Run the client's unittest suite and write its counts as JSON (for CI's one-line summary).

Usage: python3 run_tests.py [--json FILE]. Exits 1 when a test failed or errored, or none ran.
"""

from __future__ import annotations

import json
import sys
import unittest
from pathlib import Path

here = Path(__file__).resolve().parent


class _Counting(unittest.TextTestResult):
    """A result that counts successes too."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.successes = 0

    def addSuccess(self, test: unittest.TestCase) -> None:
        super().addSuccess(test)
        self.successes += 1


def main(argv: list) -> int:
    out = argv[argv.index("--json") + 1] if "--json" in argv else None
    sys.path.insert(0, str(here / "tests"))
    suite = unittest.defaultTestLoader.discover(str(here / "tests"), pattern="test_*.py", top_level_dir=str(here / "tests"))
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stderr, resultclass=_Counting).run(suite)
    # errors include a class whose setUpClass failed (one entry for all its tests)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.successes
    summary = {"suite": "python-client", "python": sys.version.split()[0], "passed": passed, "failed": failed, "skipped": skipped}
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(summary) + "\n", encoding="utf-8")
    print(f"python client: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""), file=sys.stderr)
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
