"""A real two-node Ray cluster on 127.0.0.1: ``roadgym train --backend rllib --address``.

The head and a second node are started with ``ray start`` as separate processes (each
with one logical CPU, so the two env runners, one CPU each, run one on each node); PPO
trains on Track-v0 through the CLI; the checkpoint is restored and evaluated. Slow
(about a minute and a half on 2 cores): ``pytest -m expensive tests/agents/rllib``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray.rllib")

import ray  # noqa: E402

from roadgym.agents.evaluation import evaluate_policy_on_seeds  # noqa: E402
from roadgym.agents.loading import load_agent  # noqa: E402
from roadgym.agents.rllib.training import start_ray  # noqa: E402

pytestmark = pytest.mark.expensive
RAY = str(Path(sys.executable).with_name("ray"))


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _node_ports() -> list[str]:
    # Two nodes share one host: every per-node agent gets its own port.
    agent, grpc, runtime_env, metrics = _free_ports(4)
    return [
        "--node-ip-address=127.0.0.1",
        "--num-cpus=1",
        f"--dashboard-agent-listen-port={agent}",
        f"--dashboard-agent-grpc-port={grpc}",
        f"--runtime-env-agent-port={runtime_env}",
        f"--metrics-export-port={metrics}",
        "--disable-usage-stats",
        "--block",
    ]


def _alive_nodes(address: str) -> int:
    code = (
        f"import ray; ray.init(address={address!r}); "
        "print(sum(1 for node in ray.nodes() if node['Alive']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "RAY_AUTH_MODE": "token"},
    )
    return int(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else 0


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # `ray start --block` drains and stops its node
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_two_node_cluster_trains_restores_and_evaluates(tmp_path, monkeypatch):
    # Joining sets RAY_ADDRESS and RAY_AUTH_MODE in this process; undo that afterwards so
    # later tests start their own local Ray.
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    (port, client_port) = _free_ports(2)
    address = f"127.0.0.1:{port}"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SDL_VIDEODRIVER": "dummy"}
    # `ray start` makes a token (~/.ray/auth_token) and turns token auth on; the nodes and
    # the checks here say so explicitly; roadgym train must find it by itself.
    node_env = {**env, "RAY_AUTH_MODE": "token"}
    env.pop("RAY_AUTH_MODE", None)
    logs = [(tmp_path / name).open("w") for name in ("head.log", "node.log")]
    head = subprocess.Popen(
        [RAY, "start", "--head", f"--port={port}", f"--ray-client-server-port={client_port}",
         "--include-dashboard=false", *_node_ports()],
        stdout=logs[0], stderr=subprocess.STDOUT, env=node_env,
    )  # fmt: skip
    node = None
    try:
        deadline = time.monotonic() + 300
        while _alive_nodes(address) < 1:
            assert time.monotonic() < deadline, (tmp_path / "head.log").read_text()
            time.sleep(2)
        node = subprocess.Popen(
            [RAY, "start", f"--address={address}", *_node_ports()],
            stdout=logs[1], stderr=subprocess.STDOUT, env=node_env,
        )  # fmt: skip
        while _alive_nodes(address) < 2:
            assert time.monotonic() < deadline, (tmp_path / "node.log").read_text()
            time.sleep(2)

        run_dir = tmp_path / "run"
        command = [
            sys.executable, "-m", "roadgym", "train", "--backend", "rllib", "--algo", "ppo",
            "--env", "roadgym/Track-v0", "--timesteps", "1024", "--num-env-runners", "2",
            "--envs-per-runner", "4", "--address", address, "--run-dir", str(run_dir),
            "--set", "n_steps=64", "--set", "batch_size=128", "--set", "n_epochs=1",
            "--set", "env_kwargs.max_episode_steps=100", "--set", "eval_freq=0",
            "--set", "encoder_options={features_dim: 64, channels: [8, 16, 16]}",
            "--torch-threads", "1",
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        checkpoint = run_dir / "checkpoint"
        assert (checkpoint / "rllib_checkpoint.json").is_file()
        assert "address: 127.0.0.1" in (run_dir / "config.yaml").read_text()

        # Restore: the Algorithm from its checkpoint, on the cluster, still sampled 1024+.
        from ray.rllib.algorithms.algorithm import Algorithm

        assert start_ray(address)  # joins, with the node's token auth
        try:
            algo = Algorithm.from_checkpoint(str(checkpoint))
            lifetime = algo.metrics.peek(("env_runners", "num_env_steps_sampled_lifetime"))
            assert lifetime >= 1024
            algo.stop()
        finally:
            ray.shutdown()
        # Evaluate: the checkpoint as a roadgym agent on held-out seeds.
        agent = load_agent(checkpoint, trust_pickles=True)
        report = evaluate_policy_on_seeds(
            agent.model, agent.env_id, [2_000_000, 2_000_001], env_kwargs=agent.env_kwargs
        )
        assert len(report.episodes) == 2 and "lap_completed" in report.episodes[0]
    finally:
        if node is not None:
            _stop(node)
        _stop(head)
        for log in logs:
            log.close()
