import os

import pytest

from roadgym.perception.atomic import atomic_write, atomic_write_text


def test_written_files_get_the_mode_a_plain_open_would(tmp_path):
    umask = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "report.json", "{}")
        plain = tmp_path / "plain.json"
        plain.write_text("{}")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777 == 0o644


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary(tmp_path):
    def fail(file):
        file.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(tmp_path / "checkpoint.pt", fail)
    assert list(tmp_path.iterdir()) == []
