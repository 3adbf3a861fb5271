"""``ROADGYM_KERNELS=auto`` with an empty numba cache: numpy at once, a background compile
(one at a time), then numba with the same results; no writable cache or a failed compile
keep numpy with one warning.

Nothing here compiles a kernel except the switch test, which reuses the process's kernels
(compiled by test_town_kernels or the goldens anyway); the end-to-end run with a real
background compile is ``expensive``.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from roadgym.envs.core import kernel_cache, kernel_warmup, kernels

PACKAGE = Path(kernels.__file__).resolve().parents[2]


@pytest.fixture
def auto_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process that has not chosen yet, under ``auto``, with numba installed."""
    monkeypatch.setenv(kernels.ENV_VAR, "auto")
    monkeypatch.setattr(kernels, "_from_env", None)
    monkeypatch.setattr(kernels, "_switch_ready", False)
    monkeypatch.setattr(kernels, "_watching", False)
    monkeypatch.setattr(kernels, "_warned", set())
    monkeypatch.setattr(kernels, "_watcher", None)
    monkeypatch.setattr(kernels, "numba_available", lambda: True)


def _paths(tmp_path: Path) -> kernel_cache.CachePaths:
    return kernel_cache.CachePaths(tmp_path, kernel_cache.cache_key())


def test_every_kernel_module_is_in_the_cache_key() -> None:
    # A kernel whose source is not hashed could change without a new compile: the stamp
    # would say "ready" and the first step after the switch would compile synchronously.
    matched = {path for pattern in kernel_cache.KERNEL_SOURCES for path in PACKAGE.glob(pattern)}
    users = {
        path
        for path in PACKAGE.rglob("*.py")
        if re.search(r"^from roadgym\.envs\.core\.kernels import .*njit", path.read_text(), re.M)
    }
    assert users, "no module defines kernels?"
    assert users <= matched, sorted(str(p) for p in users - matched)


def test_key_changes_with_what_invalidates_numbas_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    key = kernel_cache.cache_key()
    assert re.fullmatch(r"[0-9a-f]{16}", key) and kernel_cache.cache_key() == key
    monkeypatch.setenv("NUMBA_CPU_NAME", "generic")
    assert kernel_cache.cache_key() != key
    monkeypatch.delenv("NUMBA_CPU_NAME")
    monkeypatch.setattr(kernel_cache, "_numba_version", lambda: "0.0.0")
    assert kernel_cache.cache_key() != key


def test_cache_folder_follows_numbas_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "cache"))
    folder = kernel_cache.cache_folder()
    assert folder is not None and folder.parent == tmp_path / "cache"
    assert folder.name.startswith("core_") and folder.is_dir()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(blocker))  # not a folder: numba moves on
    assert kernel_cache.cache_folder() != folder


def test_lock_admits_one_compiler(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    assert kernel_cache.cache_state(paths) == "missing"
    with kernel_cache.compile_lock(paths.lock, wait=False) as mine:
        assert mine
        assert kernel_cache.cache_state(paths) == "compiling"
        with kernel_cache.compile_lock(paths.lock, wait=False) as second:
            assert not second
        # A second background compiler (another worker process) gives way at once.
        command = [sys.executable, "-m", "roadgym.envs.core.kernel_warmup", "--background"]
        command += ["--key", paths.key, "--folder", str(tmp_path)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == kernel_warmup.EXIT_BUSY, done.stderr
    assert kernel_cache.cache_state(paths) == "missing"  # released; nothing written
    assert sorted(p.name for p in tmp_path.iterdir()) == [paths.lock.name]


def test_unwritable_cache_keeps_numpy_with_one_warning(
    auto_choice: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kernel_cache, "cache_folder", lambda: None)
    monkeypatch.setattr(kernel_cache, "start_background_compile", _no_compile)
    with pytest.warns(RuntimeWarning, match="no writable folder for numba's cache"):
        assert not kernels.use_numba()
    monkeypatch.setattr(kernels, "_from_env", None)  # another env in the same process
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not kernels.use_numba()


def test_failed_compile_is_not_retried(
    auto_choice: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _paths(tmp_path)
    paths.failed.write_text("Traceback: LoweringError\n")
    monkeypatch.setattr(kernel_cache, "cache_paths", lambda: paths)
    monkeypatch.setattr(kernel_cache, "start_background_compile", _no_compile)
    with pytest.warns(RuntimeWarning, match="compiling the numba kernels failed earlier"):
        assert not kernels.use_numba()


def _no_compile(paths: kernel_cache.CachePaths) -> subprocess.Popen:
    raise AssertionError("no compile may start here")


def test_empty_cache_starts_numpy_and_switches_when_the_compile_ends(
    auto_choice: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _paths(tmp_path)
    monkeypatch.setattr(kernel_cache, "cache_paths", lambda: paths)
    monkeypatch.setattr(kernel_cache, "POLL_S", 0.05)
    started = []

    def fake_compiler(paths: kernel_cache.CachePaths) -> subprocess.Popen:
        # Stands in for kernel_warmup --background: waits for a go, then writes the stamp.
        go = tmp_path / "go"
        code = (
            "import pathlib, sys, time\n"
            "while not pathlib.Path(sys.argv[1]).exists(): time.sleep(0.02)\n"
            "pathlib.Path(sys.argv[2]).write_text('done')\n"
        )
        started.append(go)
        return subprocess.Popen([sys.executable, "-c", code, str(go), str(paths.stamp)])

    monkeypatch.setattr(kernel_cache, "start_background_compile", fake_compiler)
    assert not kernels.use_numba()  # numpy at once, compile started
    assert not kernels.use_numba() and len(started) == 1  # decided once per process
    time.sleep(0.2)
    assert not kernels.use_numba()  # still compiling
    started[0].write_text("")
    assert kernels.wait_for_kernels(timeout_s=60)  # switched once the compile ended
    assert kernel_cache.cache_state(paths) == "ready"


@pytest.mark.skipif(not kernels.numba_available(), reason="numba not installed")
def test_switch_mid_rollout_gives_the_numpy_results(
    auto_choice: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.envs.test_town_kernels import _rollout, assert_same_rollouts

    reference = _rollout("numpy", 30)
    # As after a cold start: numpy while the compile runs, its end reported at step 10.
    monkeypatch.setattr(kernels, "_from_env", False)
    monkeypatch.setattr(kernels, "_watching", True)
    calls = {"n": 0}
    real = kernels.use_numba

    def counting() -> bool:
        calls["n"] += 1
        if calls["n"] == 100:
            kernels._compile_ended("ready")
        return real()

    monkeypatch.setattr(kernels, "use_numba", counting)
    monkeypatch.setattr(kernels, "use_backend", lambda name: contextlib.nullcontext())
    switched = _rollout("auto", 30)  # on whatever use_numba() says at each call
    assert real(), "the switch did not happen"
    assert calls["n"] > 200  # it switched within the rollout, with steps on both sides
    assert_same_rollouts(reference, switched)


@pytest.mark.skipif(not kernels.numba_available(), reason="numba not installed")
def test_signature_table_round_trips_for_the_preload(tmp_path: Path) -> None:
    from tests.envs.test_town_kernels import _rollout

    _rollout("numba", 2)  # compiled (or loaded) in this process already, by the tests above
    compiled = [d for d in kernels.DISPATCHERS if d.signatures]
    assert len(compiled) >= 10
    paths = _paths(tmp_path)
    kernel_cache.save_signatures(paths, kernels.DISPATCHERS)
    count = sum(len(d.signatures) for d in compiled)
    assert kernel_cache.preload(paths) == count  # every kernel found by module and name
    paths.signatures.write_bytes(b"not a pickle")
    assert kernel_cache.preload(paths) == 0  # a broken table skips the preload


_COLD_START = """
import time
import numpy as np
from roadgym.envs.core import kernels
from roadgym.envs.town.config import TownConfig
from roadgym.envs.town.world import TownWorld


def rollout(until_switch):
    world = TownWorld(TownConfig(observation="rgb+state"), 2)
    for index in range(2):
        world.reset_world(index, np.random.default_rng(index))
    rng, trace, switched = np.random.default_rng(1), [], None
    deadline = time.monotonic() + 1500  # a compile on a busy machine
    while len(trace) < (switched or 10**9) + 20 and time.monotonic() < deadline:
        controls = np.stack([rng.uniform(-0.2, 0.2, 2), rng.uniform(0.3, 1.0, 2)], axis=1)
        reward, terminated = world.step(controls)
        trace.append(np.concatenate([reward, terminated, world.veh_xy.ravel(), world.s_m]))
        trace[-1] = np.concatenate([trace[-1], world.observe()["rgb"].ravel()])
        if switched is None and kernels.use_numba():
            switched = len(trace)
        if not until_switch and len(trace) == steps:
            break
    return trace, switched


first_numpy = not kernels.use_numba()
steps = 0
trace, switched = rollout(until_switch=True)
steps = len(trace)
with kernels.use_backend("numpy"):
    reference, _ = rollout(until_switch=False)
same = all(np.allclose(a, b, rtol=1e-9, atol=1e-9) for a, b in zip(trace, reference, strict=True))
print("first_numpy", first_numpy, "switched_at", switched, "of", steps, "same", same)
"""


@pytest.mark.expensive
@pytest.mark.timeout(1800)
@pytest.mark.skipif(not kernels.numba_available(), reason="numba not installed")
def test_cold_start_compiles_in_the_background_and_switches(tmp_path: Path) -> None:
    # A real first run after installing: an empty NUMBA_CACHE_DIR. numpy at once, numba
    # after the background compile, the same rollout on both sides of the switch.
    import os

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), kernels.ENV_VAR: "auto"}
    done = subprocess.run(
        [sys.executable, "-c", _COLD_START], env=env, capture_output=True, text=True, timeout=1700
    )
    assert done.returncode == 0, done.stderr
    words = done.stdout.split()
    assert words[words.index("first_numpy") + 1] == "True", done.stdout
    assert words[words.index("switched_at") + 1] != "None", done.stdout
    assert words[words.index("same") + 1] == "True", done.stdout
    folder = next(tmp_path.glob("core_*"))
    assert list(folder.glob("roadgym-kernels-*.ready")) and not list(folder.glob("*.tmp*"))
