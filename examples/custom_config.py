"""Register a custom track and a custom town under new ids, with ``gymnasium.register``.

    python examples/custom_config.py [--steps 50]

The new ids reuse roadgym's entry points; ``kwargs`` are config fields (validated: a
typo or an out-of-range value raises ``roadgym.envs.ConfigError`` when the env is made).
Both ``gym.make`` and ``gym.make_vec(..., vectorization_mode="vector_entry_point")``
read them, so the single and the batched env get the same config.
"""

from __future__ import annotations

import argparse

import gymnasium as gym

import roadgym  # noqa: F401  (registers roadgym/Track-v0 and roadgym/Town-v0)
from roadgym.envs import TownConfig

CUSTOM_IDS = ("my/NarrowTrack-v0", "my/QuietTown-v0")


def register_custom_envs() -> None:
    """Register the two ids (safe to call again)."""
    if "my/NarrowTrack-v0" not in gym.registry:
        gym.register(
            id="my/NarrowTrack-v0",
            entry_point="roadgym.envs.track.env:TrackEnv",
            vector_entry_point="roadgym.envs.track.vector_env:TrackVectorEnv",
            max_episode_steps=600,
            # One narrow lane on short tracks, a wider camera frame.
            kwargs={
                "num_lanes": 1,
                "lane_width_m": 3.0,
                "track_length_min_m": 200.0,
                "track_length_max_m": 300.0,
                "camera_size_px": 84,
            },
        )
    if "my/QuietTown-v0" not in gym.registry:
        gym.register(
            id="my/QuietTown-v0",
            entry_point="roadgym.envs.town.env:TownEnv",
            vector_entry_point="roadgym.envs.town.vector_env:TownVectorEnv",
            max_episode_steps=1000,
            # A small town without traffic: a config object works as well as fields.
            kwargs={"config": TownConfig(grid_size=3, num_vehicles=0, num_pedestrians=4)},
        )


def main(argv: list[str] | None = None) -> dict[str, tuple[int, ...]]:
    """Make each custom id as a single and a vector env, step both; their frame shapes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args(argv)
    register_custom_envs()
    shapes = {}
    for env_id in CUSTOM_IDS:
        env = gym.make(env_id)
        observation, _ = env.reset(seed=0)
        for _ in range(args.steps):
            observation, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                observation, _ = env.reset()
        envs = gym.make_vec(env_id, num_envs=4, vectorization_mode="vector_entry_point")
        observations, _ = envs.reset(seed=0)  # world i is seeded 0 + i
        observations, *_ = envs.step(envs.action_space.sample())
        config = envs.config  # the vector env validated the same kwargs
        print(
            f"{env_id}: camera {observation.shape}, batch {observations.shape}, "
            f"lane width {config.lane_width_m} m, camera {config.camera_size_px} px"
        )
        shapes[env_id] = observations.shape
        env.close()
        envs.close()
    return shapes


if __name__ == "__main__":
    main()
