"""``roadgym bench`` runs, and writes the JSON its table comes from."""

import json
import subprocess
import sys


def test_quick_benchmark_writes_rows_and_a_table(tmp_path):
    out = tmp_path / "bench.json"
    command = [
        sys.executable,
        "-m",
        "roadgym",
        "bench",
        "--quick",
        "--only",
        "roadgym-single",
        "roadgym-vector-16",
        "--no-ppo",
        "--no-memory",
        "--json",
        str(out),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert set(result["rows"]) == {"roadgym-single", "roadgym-vector-16"}
    assert result["rows"]["roadgym-vector-16"]["fps"] > 0
    assert result["rows"]["roadgym-vector-16"]["num_envs"] == 16
    assert "| roadgym Track-v0, native vector env B=16" in result["table"]
    assert not list(tmp_path.glob("*.tmp"))  # written atomically
