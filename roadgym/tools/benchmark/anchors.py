"""The benchmark's rows: which env each builds, how many worlds it steps, what it needs."""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Callable
from typing import Any

import gymnasium as gym

import roadgym  # noqa: F401  (registers roadgym/Track-v0 and roadgym/Town-v0)

BASELINE = "carracing-single"
RESET_BASELINE = "carracing-reset"
HIGHWAY_BASELINE = "highway-fast"  # the anchor of Town-v0's target
CARRACING_IMPORTS = ("Box2D", "pygame", "gymnasium.envs.box2d.car_racing")
HIGHWAY_GRAYSCALE = {
    "type": "GrayscaleObservation",
    "observation_shape": (84, 84),
    "stack_size": 4,
    "weights": [0.2989, 0.5870, 0.1140],
    "scaling": 1.75,
}


@dataclasses.dataclass(frozen=True)
class Anchor:
    """One row: how to build the env, how many worlds it steps, what it needs."""

    name: str
    description: str
    make: Callable[[], Any]
    num_envs: int  # frames per step; vector envs autoreset themselves
    steps: int  # per timed run (full mode)
    requires: str | None = None  # module that must be importable
    imports: tuple[str, ...] = ()  # loaded before the memory baseline: not the env's cost
    check_frames: bool = False  # fail loudly if the observations are blank
    versus: str | None = None  # the row this one's target is measured against
    # A fixed action every step instead of random ones (e.g. one that leaves the road).
    action: tuple[float, ...] | None = None
    resets: bool = False  # time resets (a new seed each), not steps


def _roadgym_vector(num_envs: int, env_id: str = "roadgym/Track-v0") -> Callable[[], Any]:
    return lambda: gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")


def _highway_default(env_id: str) -> Callable[[], Any]:
    """A highway-env env with its own default config (Kinematics, DiscreteMetaAction)."""

    def make() -> Any:
        import highway_env  # noqa: F401  (registers its ids)

        return gym.make(env_id)

    return make


# highway-env's own defaults: Kinematics observation, meta actions, one action a second.
HIGHWAY_ENV_LIKE = {"action_type": "meta", "policy_frequency_hz": 1.0}
# ... and highway-fast-v0's road and traffic: 3 lanes, 20 vehicles, 30 s episodes.
HIGHWAY_FAST_LIKE = {
    "observation": "kinematics",
    **HIGHWAY_ENV_LIKE,
    "lanes_count": 3,
    "vehicles_count": 20,
    "duration_s": 30.0,
}


def _roadgym_highway(num_envs: int | None, **fields: Any) -> Callable[[], Any]:
    if num_envs is None:
        return lambda: gym.make("roadgym/Highway-v0", **fields)
    return lambda: gym.make_vec(
        "roadgym/Highway-v0", num_envs=num_envs, vectorization_mode="vector_entry_point", **fields
    )


def _roadgym_multiagent(env_id: str, worlds: int, agents: int, **fields: Any):
    """B worlds x N controlled cars as one vector env of B * N slots (agent-frames)."""

    def make() -> Any:
        from roadgym.envs.multiagent import make_multi_agent_vector_env

        return make_multi_agent_vector_env(env_id, worlds, agents, **fields)

    return make


def _highway_multiagent(agents: int) -> Callable[[], Any]:
    """highway-env's highway-v0 with ``agents`` controlled vehicles (its multi-agent form)."""

    def make() -> Any:
        import highway_env  # noqa: F401  (registers its ids)

        config = {
            "controlled_vehicles": agents,
            "observation": {
                "type": "MultiAgentObservation",
                "observation_config": {"type": "Kinematics"},
            },
            "action": {
                "type": "MultiAgentAction",
                "action_config": {"type": "DiscreteMetaAction"},
            },
        }
        return gym.make("highway-v0", config=config)

    return make


def _highway(env_id: str) -> Callable[[], Any]:
    def make() -> Any:
        import highway_env  # noqa: F401  (registers its ids)

        return gym.make(env_id, config={"observation": HIGHWAY_GRAYSCALE})

    return make


ANCHORS = (
    Anchor(
        "roadgym-single",
        "roadgym Track-v0, single env, rgb 64x64",
        lambda: gym.make("roadgym/Track-v0"),
        1,
        3000,
    ),
    *(
        Anchor(
            f"roadgym-vector-{n}",
            f"roadgym Track-v0, native vector env B={n}, rgb 64x64",
            _roadgym_vector(n),
            n,
            steps,
        )
        for n, steps in ((1, 3000), (16, 1000), (64, 400), (256, 150))
    ),
    Anchor(
        "town-single",
        "roadgym Town-v0, single env, rgb 64x64, 20 vehicles + 12 pedestrians",
        lambda: gym.make("roadgym/Town-v0"),
        1,
        600,
    ),
    Anchor(
        "town-vector-64",
        "roadgym Town-v0, native vector env B=64, rgb 64x64, 20 vehicles + 12 pedestrians",
        _roadgym_vector(64, "roadgym/Town-v0"),
        64,
        100,
    ),
    Anchor(
        "town-vector-64-offroad",
        "roadgym Town-v0, native vector env B=64, fixed action straight at full throttle "
        "(leaves the road at the first turn: an episode every ~7 s, 68 steps)",
        _roadgym_vector(64, "roadgym/Town-v0"),
        64,
        100,
        action=(0.0, 1.0),
    ),
    Anchor(
        "town-reset",
        "roadgym Town-v0 reset: a new town, route and traffic (single env)",
        lambda: gym.make("roadgym/Town-v0"),
        1,
        200,
        resets=True,
    ),
    Anchor(
        "track-reset",
        "roadgym Track-v0 reset: a new track (single env)",
        lambda: gym.make("roadgym/Track-v0"),
        1,
        200,
        resets=True,
    ),
    Anchor(
        "highway-single",
        "roadgym Highway-v0, single env, rgb 64x64, 30 vehicles (one 0.2 s step per action)",
        _roadgym_highway(None),
        1,
        2000,
        versus="highway-v0-kinematics",
    ),
    Anchor(
        "highway-single-meta-1hz",
        "roadgym Highway-v0, single env, rgb 64x64, meta actions at 1 Hz (1 s per action)",
        _roadgym_highway(None, **HIGHWAY_ENV_LIKE),
        1,
        600,
        versus="highway-v0-kinematics",
    ),
    Anchor(
        "highway-vector-64",
        "roadgym Highway-v0, native vector env B=64, rgb 64x64 (one 0.2 s step per action)",
        _roadgym_highway(64),
        64,
        150,
        versus="highway-fast-kinematics",
    ),
    Anchor(
        "highway-vector-64-meta-1hz",
        "roadgym Highway-v0, native vector env B=64, rgb 64x64, meta actions at 1 Hz",
        _roadgym_highway(64, **HIGHWAY_ENV_LIKE),
        64,
        40,
        versus="highway-fast-kinematics",
    ),
    Anchor(
        "highway-vector-64-kinematics",
        "roadgym Highway-v0, native vector env B=64, kinematics, meta actions at 1 Hz, "
        "its default road and traffic (4 lanes, 30 vehicles, 40 s)",
        _roadgym_highway(64, observation="kinematics", **HIGHWAY_ENV_LIKE),
        64,
        60,
        versus="highway-fast-kinematics",
    ),
    Anchor(
        "highway-vector-64-fast-config",
        "roadgym Highway-v0, native vector env B=64, highway-fast-v0's config (kinematics, "
        "meta actions at 1 Hz, 3 lanes, 20 vehicles, 30 s)",
        _roadgym_highway(64, **HIGHWAY_FAST_LIKE),
        64,
        60,
        versus="highway-fast-kinematics",
    ),
    Anchor(
        "town-multiagent-16x8",
        "roadgym Town-v0, multi-agent vector env B=16 worlds x N=8 cars, rgb 64x64, 20 "
        "vehicles + 12 pedestrians a world (agent-frames)",
        _roadgym_multiagent("roadgym/Town-v0", 16, 8),
        128,
        100,
        versus="town-vector-64",
    ),
    Anchor(
        "highway-multiagent-16x8",
        "roadgym Highway-v0, multi-agent vector env B=16 worlds x N=8 cars, rgb 64x64 "
        "(agent-frames; one 0.2 s step per action)",
        _roadgym_multiagent("roadgym/Highway-v0", 16, 8),
        128,
        150,
        versus="highway-v0-multiagent-8",
    ),
    Anchor(
        "highway-multiagent-16x8-meta-1hz",
        "roadgym Highway-v0, multi-agent vector env B=16 x N=8, kinematics, meta actions "
        "at 1 Hz (agent-frames)",
        _roadgym_multiagent(
            "roadgym/Highway-v0", 16, 8, observation="kinematics", **HIGHWAY_ENV_LIKE
        ),
        128,
        40,
        versus="highway-v0-multiagent-8",
    ),
    Anchor(
        "highway-v0-multiagent-8",
        "highway-v0 with 8 controlled vehicles (MultiAgentObservation of Kinematics, "
        "MultiAgentAction of DiscreteMetaAction, 1 Hz): agent-frames",
        _highway_multiagent(8),
        8,
        20,
        requires="highway_env",
        imports=("highway_env",),
    ),
    Anchor(
        "highway-v0-kinematics",
        "highway-v0, its default config (Kinematics, meta actions at 1 Hz, 15 Hz simulation)",
        _highway_default("highway-v0"),
        1,
        30,
        requires="highway_env",
        imports=("highway_env",),
    ),
    Anchor(
        "highway-fast-kinematics",
        "highway-fast-v0, its default config (Kinematics, meta actions at 1 Hz, 5 Hz simulation)",
        _highway_default("highway-fast-v0"),
        1,
        300,  # about 20 episodes per run: its resets are a large, uneven part of its time
        requires="highway_env",
        imports=("highway_env",),
    ),
    Anchor(
        BASELINE,
        "CarRacing-v3, single env, rgb 96x96",
        lambda: gym.make("CarRacing-v3"),
        1,
        400,
        requires="Box2D",
        imports=CARRACING_IMPORTS,
    ),
    Anchor(
        "carracing-reset",
        "CarRacing-v3 reset: a new track (single env)",
        lambda: gym.make("CarRacing-v3"),
        1,
        40,
        requires="Box2D",
        imports=CARRACING_IMPORTS,
        resets=True,
    ),
    Anchor(
        "carracing-sync-8",
        "CarRacing-v3, SyncVectorEnv of 8",
        lambda: gym.make_vec("CarRacing-v3", num_envs=8, vectorization_mode="sync"),
        8,
        60,
        requires="Box2D",
        imports=CARRACING_IMPORTS,
    ),
    Anchor(
        "highway-fast",
        "highway-fast-v0, GrayscaleObservation 84x84 stack 4 (SDL offscreen)",
        _highway("highway-fast-v0"),
        1,
        60,
        requires="highway_env",
        imports=("highway_env",),
        check_frames=True,
    ),
    Anchor(
        "racetrack",
        "racetrack-v0, GrayscaleObservation 84x84 stack 4 (SDL offscreen)",
        _highway("racetrack-v0"),
        1,
        200,
        requires="highway_env",
        imports=("highway_env",),
        check_frames=True,
    ),
)


def missing_requirement(anchor: Anchor) -> str | None:
    """Why ``anchor`` cannot run here (its anchor package is not installed), or None."""
    if anchor.requires and importlib.util.find_spec(anchor.requires) is None:
        extra = "gymnasium[box2d]" if anchor.requires == "Box2D" else anchor.requires
        return f"{extra} not installed (pip install -e .[bench])"
    return None
