"""Watch every car of a multi-agent world drive: a pygame window, or an mp4 headless.

``roadgym watch --expert --env roadgym/Town-v0 --env-kwargs num_agents=4 --record
town.mp4`` (or ``--model`` a policy trained with shared parameters on several cars a
world). The frame is the world's render around one controlled car (``--agent``):
every controlled car in its own colour with its index, the followed one ringed, its
HUD (speed, progress, reward) and camera at the top, and a roster of all cars (colour,
speed, route progress or distance, return, status) at the bottom. In the window, Tab
follows the next car and the digit keys 0-9 pick one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from roadgym.agents.environments import num_agents_of
from roadgym.agents.loading import LoadedAgent
from roadgym.agents.watch import write_video
from roadgym.envs.multiagent.world_metrics import agent_status

__all__ = ["agent_index", "watch_world"]

# What a car's episode line shows, when the world reports it.
_CAR_KEYS = ("route_completion", "distance_m", "agent_collisions")
_WORLD_KEYS = ("controlled_collisions", "routes_finished", "junction_throughput_per_min")


def agent_index(agent: str | int, num_agents: int) -> int:
    """The car index of ``agent`` (``"car_3"``, ``"3"`` or 3) among ``num_agents`` cars."""
    text = str(agent)
    number = text.removeprefix("car_")
    if not number.isdigit() or int(number) >= num_agents:
        raise ValueError(
            f"agent = {agent!r} is not a car of this world; allowed: car_0 .. "
            f"car_{num_agents - 1} (or 0 .. {num_agents - 1})"
        )
    return int(number)


def watch_world(
    env_id: str,
    env_kwargs: dict[str, Any] | None = None,
    *,
    agent: LoadedAgent | None = None,
    follow: str | int = 0,
    episodes: int = 1,
    seed: int = 0,
    record: str | Path | None = None,
    deterministic: bool = True,
) -> list[dict[str, Any]]:
    """Drive ``episodes`` episodes of one world (seeds ``seed, seed + 1, ...``), every car
    by the expert (``agent`` None) or by ``agent``'s policy (one call for all cars).

    :param follow: the car the view follows at the start (``car_j`` or ``j``).
    :param record: write an mp4 here instead of opening a window (works headless).
    :returns: per episode: its seed, each car's last metrics and status, the world's.
    """
    from roadgym.drivers.expert import ExpertDriver
    from roadgym.envs.core.rendering import HumanWindow
    from roadgym.envs.multiagent import make_multi_agent_vector_env

    if episodes < 1:
        raise ValueError(f"episodes = {episodes}; allowed: an int >= 1")
    env_kwargs = dict(env_kwargs or {})
    num_agents = num_agents_of(env_kwargs)
    followed = agent_index(follow, num_agents)
    fields = {k: v for k, v in env_kwargs.items() if k != "num_agents"}
    env = make_multi_agent_vector_env(env_id, 1, num_agents, render_mode="rgb_array", **fields)
    if agent is not None:
        _check_policy_fits(agent, env)
    expert = ExpertDriver(env) if agent is None else None
    fps = float(env.metadata.get("render_fps", 10))
    window = None if record is not None else HumanWindow(f"roadgym {env_id}", fps)
    frames: list[np.ndarray] = []
    results: list[dict[str, Any]] = []
    try:
        for episode in range(episodes):
            observation, _ = env.reset(seed=seed + episode)
            returns = np.zeros(num_agents)
            while True:
                frame = env.render_world(followed)
                if window is None:
                    frames.append(frame)
                else:
                    window.show(frame)
                    if window.closed_by_user:
                        return results
                    followed = _follow_keys(window.pressed_keys, followed, num_agents)
                if expert is not None:
                    actions, _ = expert.predict(observation)
                else:
                    model_input = (
                        agent.normalize_observation(observation)
                        if agent.normalize_observation
                        else observation
                    )
                    actions, _ = agent.model.predict(model_input, deterministic=deterministic)
                observation, reward, terminated, truncated, info = env.step(actions)
                returns += reward
                if (terminated | truncated).all():  # every car's episode, so the world's
                    break
            if window is None:
                frames.append(env.render_world(followed))
            results.append(_episode_result(seed + episode, info, returns, terminated))
            print(_episode_lines(results[-1]), flush=True)
    finally:
        env.close()
        if window is not None:
            window.close()
    if record is not None:
        write_video(frames, record, fps)
    return results


def _check_policy_fits(agent: LoadedAgent, env: Any) -> None:
    """Refuse a model whose observations or stacking are not this env's, naming both."""
    if agent.frame_stack > 1:
        raise ValueError(
            f"the model stacks frames with SB3's VecFrameStack (frame_stack = "
            f"{agent.frame_stack}); allowed for several cars: 1 (stack in the env)"
        )
    expected = agent.model.observation_space
    if expected != env.single_observation_space:
        raise ValueError(
            f"the model takes observations {expected}; the env gives "
            f"{env.single_observation_space}: pass the env_kwargs it was trained with"
        )


def _follow_keys(keys: list[str], followed: int, num_agents: int) -> int:
    """The car to follow after the window's key presses: Tab the next, a digit that car."""
    for key in keys:
        if key == "tab":
            followed = (followed + 1) % num_agents
        elif key.isdigit() and int(key) < num_agents:
            followed = int(key)
    return followed


def _episode_result(
    seed: int, info: dict[str, Any], returns: np.ndarray, terminated: np.ndarray
) -> dict[str, Any]:
    """Each car's metrics at the world's end, and the world's (from car 0's slot)."""
    keys = [k for k in info if not k.startswith("_") and isinstance(info[k], np.ndarray)]
    car_infos = {k: info[k] for k in keys}
    # At the world's end a car not terminated was still driving: the time limit ended it.
    status = [
        "time limit" if word == "driving" else word for word in agent_status(car_infos, ~terminated)
    ]
    cars = []
    for j, word in enumerate(status):
        car = {"agent": f"car_{j}", "status": word, "return": float(returns[j])}
        car.update({k: float(car_infos[k][j]) for k in _CAR_KEYS if k in car_infos})
        cars.append(car)
    world = {k: float(car_infos[k][0]) for k in _WORLD_KEYS if k in car_infos}
    return {"seed": seed, "cars": cars, "world": world}


def _episode_lines(result: dict[str, Any]) -> str:
    """The episode as text: a world line, then one line per car."""
    world = ", ".join(f"{k} {v:g}" for k, v in result["world"].items())
    lines = [f"world seed {result['seed']}: {world}"]
    for car in result["cars"]:
        numbers = ", ".join(f"{k} {car[k]:.3g}" for k in ("return", *_CAR_KEYS) if k in car)
        lines.append(f"  {car['agent']}: {car['status']}, {numbers}")
    return "\n".join(lines)
