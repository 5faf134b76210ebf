"""local.launcher: a stack that cannot start is stopped and reported with its own words."""

from __future__ import annotations

from pathlib import Path

import pytest

from local import launcher


def test_a_stack_that_exits_is_reported_with_the_tail_of_its_log(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"did not start \(exit code 2\)[\s\S]*no program at"):
        launcher.start(tmp_path, ["--program", str(tmp_path / "missing.py")], timeout=60)
    assert not (tmp_path / "ready.json").exists()
