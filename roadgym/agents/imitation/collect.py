"""Driving the batch and recording what the expert would have done: one DAgger round's data.

Every world of a native vector env is driven by a mixture of the expert and the student:
at each step and in each world the expert's action is executed with probability
``beta`` (plus a little Gaussian noise, so the expert also shows how to recover), else
the student's. Whoever drives, the frame is recorded with the **expert's** action for it
and the simulator's perception labels. ``beta = 1`` is behaviour cloning's data;
``beta < 1`` is DAgger's: the states the student itself reaches, labelled by the expert.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from roadgym.agents.imitation.student import image_channel_index
from roadgym.drivers.expert import ExpertDriver

__all__ = ["AggregatedData", "RoundData", "collect_round"]

StudentAct = Callable[[dict[str, np.ndarray]], np.ndarray]


@dataclasses.dataclass
class RoundData:
    """Frames and labels of one round; arrays share their first axis (N frames)."""

    frames: np.ndarray
    """The camera channels the student encodes (N, H, W, C) uint8 of each observation
    (``image_channel_index``: earlier frames first, the newest RGB frame last)."""
    nav: np.ndarray
    """``nav`` observations (N, 3k) float32: speed, next-turn direction and distance of
    the last k steps (``frame_stack``), oldest first."""
    actions: np.ndarray
    """The expert's action for each frame (N, 2) float32 [steer, throttle]."""
    labels: dict[str, np.ndarray]
    """Perception labels (N,) int64 per task (light_state, object_ahead, road_layout)."""

    def __len__(self) -> int:
        return len(self.frames)

    @staticmethod
    def concatenate(parts: list[RoundData]) -> RoundData:
        """One dataset of all ``parts`` (DAgger's aggregation)."""
        return RoundData(
            frames=np.concatenate([p.frames for p in parts]),
            nav=np.concatenate([p.nav for p in parts]),
            actions=np.concatenate([p.actions for p in parts]),
            labels={k: np.concatenate([p.labels[k] for p in parts]) for k in parts[0].labels},
        )

    def arrays(self) -> dict[str, np.ndarray]:
        """Flat name -> array mapping, as written to a round's ``.npz``."""
        out = {"frames": self.frames, "nav": self.nav, "actions": self.actions}
        out.update({f"label_{k}": v for k, v in self.labels.items()})
        return out

    @staticmethod
    def from_arrays(arrays: Any) -> RoundData:
        """Inverse of :meth:`arrays` (accepts an open ``np.load`` result)."""
        labels = {k[len("label_") :]: arrays[k] for k in arrays if k.startswith("label_")}
        return RoundData(arrays["frames"], arrays["nav"], arrays["actions"], labels)


class AggregatedData:
    """DAgger's aggregate of all rounds' frames, grown in place.

    Rounds are appended into arrays with room to spare (``capacity_frames``, doubled when
    a run outgrows it), so a round adds its own frames without copying every earlier
    round's: concatenating 300,000 frames (3.7 GB) anew each round cost seconds. Memory
    beyond the frames written is reserved, not touched.
    """

    def __init__(self, capacity_frames: int = 0) -> None:
        self.capacity_frames = max(int(capacity_frames), 0)
        self._arrays: dict[str, np.ndarray] | None = None
        self._frames = 0

    def __len__(self) -> int:
        return self._frames

    def append(self, part: RoundData) -> None:
        """Add ``part``'s frames after the ones already held."""
        flat = part.arrays()
        end = self._frames + len(part)
        if self._arrays is None:
            size = max(self.capacity_frames, end)
            self._arrays = {k: np.empty((size,) + v.shape[1:], v.dtype) for k, v in flat.items()}
        elif end > len(self._arrays["frames"]):
            size = max(2 * len(self._arrays["frames"]), end)
            grown = {k: np.empty((size,) + v.shape[1:], v.dtype) for k, v in self._arrays.items()}
            for k, v in self._arrays.items():
                grown[k][: self._frames] = v[: self._frames]
            self._arrays = grown
        for k, v in flat.items():
            self._arrays[k][self._frames : end] = v
        self._frames = end

    def data(self) -> RoundData:
        """All frames so far, as views (no copy)."""
        if self._arrays is None:
            raise ValueError("AggregatedData.data(): no round appended yet")
        return RoundData.from_arrays({k: v[: self._frames] for k, v in self._arrays.items()})


def collect_round(
    envs: Any,
    observations: dict[str, np.ndarray],
    num_frames: int,
    beta: float,
    student: StudentAct | None,
    rng: np.random.Generator,
    expert_noise_std: float,
    label_tasks: tuple[str, ...],
    image_frames: int = 1,
    image_frame_gap: int = 1,
    earlier_frame_channels: int = 3,
) -> tuple[RoundData, dict[str, np.ndarray], dict[str, float]]:
    """Drive ``envs`` (a roadgym vector env in same-step autoreset) for ``num_frames`` frames.

    ``observations`` are the current observations (``rgb`` and ``nav``); the ones after
    the last step are returned so the next round continues the same episodes. Returns
    the data, those observations and episode statistics of the round (episodes ended,
    their mean route completion and success rate).
    """
    if student is None and beta < 1.0:
        raise ValueError(f"beta = {beta} needs a student to drive the other steps; got none")
    expert = ExpertDriver(envs)
    world = envs.world
    num_envs = envs.num_envs
    steps = -(-num_frames // num_envs)  # ceil
    # Only the camera channels the student encodes are kept (the newest ``image_frames``,
    # ``image_frame_gap`` steps apart, ``earlier_frame_channels`` of the earlier ones);
    # ``nav`` is kept whole, stacked speeds and all.
    h, w, stacked = observations["rgb"].shape[1:]
    channels = image_channel_index(stacked, image_frames, image_frame_gap, earlier_frame_channels)
    c = len(channels)
    frames = np.empty((steps, num_envs, h, w, c), np.uint8)
    nav = np.empty((steps, num_envs, observations["nav"].shape[1]), np.float32)
    actions = np.empty((steps, num_envs, 2), np.float32)
    labels = {task: np.empty((steps, num_envs), np.int64) for task in label_tasks}
    completion: list[float] = []
    success: list[float] = []
    expert_steps = 0
    for t in range(steps):
        expert_action, _ = expert.predict()  # (B, 2), for the state the frames show
        frames[t] = observations["rgb"][..., channels]
        nav[t] = observations["nav"]
        actions[t] = expert_action
        world_labels = world.labels()
        for task in label_tasks:
            labels[task][t] = world_labels[task]
        noisy = expert_action + rng.normal(0.0, expert_noise_std, expert_action.shape)
        executed = np.clip(noisy, -1.0, 1.0).astype(np.float32)
        if beta < 1.0:
            by_expert = rng.random(num_envs) < beta  # (B,)
            expert_steps += int(by_expert.sum())
            executed = np.where(by_expert[:, None], executed, student(observations))
        else:
            expert_steps += num_envs
        observations, _, terminated, truncated, infos = envs.step(executed)
        ended = terminated | truncated
        if ended.any():
            final = infos["final_info"]
            completion.extend(final["route_completion"][ended].tolist())
            success.extend(final["success"][ended].astype(float).tolist())
    data = RoundData(
        frames=frames.reshape(-1, h, w, c)[:num_frames],
        nav=nav.reshape(steps * num_envs, -1)[:num_frames],
        actions=actions.reshape(-1, 2)[:num_frames],
        labels={k: v.reshape(-1)[:num_frames] for k, v in labels.items()},
    )
    stats = {
        "episodes_ended": float(len(completion)),
        "route_completion": float(np.mean(completion)) if completion else float("nan"),
        "success": float(np.mean(success)) if success else float("nan"),
        "expert_step_fraction": expert_steps / (steps * num_envs),
    }
    return data, observations, stats
