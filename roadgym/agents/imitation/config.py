"""``ImitationConfig``: every setting of behaviour cloning and DAgger, validated."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from roadgym.agents.imitation.bc import BCSettings
from roadgym.agents.imitation.final import FinalFit
from roadgym.envs.core.config import ConfigError
from roadgym.envs.seeds import SELECTION_SEED_START, TRAIN_SEED_LIMIT

__all__ = ["ImitationConfig", "SELECTION_SEED_START", "TRAIN_SEED_STRIDE"]

# Training worlds are seeded from ``seed`` upwards (round r starts at seed + r *
# TRAIN_SEED_STRIDE and each world then draws new towns from its own generator); the
# rounds' student is selected on the selection range (roadgym.envs.seeds).
TRAIN_SEED_STRIDE = 10_000


@dataclasses.dataclass(frozen=True)
class ImitationConfig:
    """Behaviour cloning from the expert, then DAgger rounds, on a roadgym vector env.

    Round 0 is behaviour cloning: the expert drives every step (``beta`` = 1, with
    ``expert_noise_std`` of noise on what is executed, never on the labels). DAgger round
    k >= 1 executes the expert's action with probability ``beta_k = beta * beta_decay **
    (k - 1)`` at each step in each world, else the student's; every visited frame is
    labelled with the expert's action and added to the data, and the student is trained
    further on all data so far. The student after each round is scored on
    ``selection_episodes`` seeds of the selection range (from ``SELECTION_SEED_START``,
    see :mod:`roadgym.envs.seeds`), and the best becomes ``student.zip``.
    """

    env_id: str = dataclasses.field(default="roadgym/Town-v0", metadata={"flag": "--env"})
    """Env to imitate on; it must have a native vector env and expose ``rgb`` + ``nav``."""
    env_kwargs: Mapping[str, Any] = dataclasses.field(
        default_factory=lambda: {"observation": "rgb+nav", "frame_stack": 10}
    )
    """Env config fields. The observation must be 'rgb+nav': what the student sees. With
    ``frame_stack`` k the ``nav`` vector holds the last k speeds (so the student can tell
    braking into a stop line from pulling away after stopping) and the encoder sees the
    newest ``image_frames`` camera frames."""
    collect_env_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    """Env config fields for the training worlds only, over ``env_kwargs`` (e.g. more
    pedestrians, so that frames of a pedestrian on the route are not rare); the selection
    drive and the saved student keep ``env_kwargs``. What the student sees
    (``observation``, ``frame_stack``) cannot differ."""
    num_envs: int = dataclasses.field(default=32, metadata={"flag": "--n-envs"})
    """Worlds driven at once."""
    seed: int = 0
    """First training seed; also seeds the network, the mixing and the batches."""
    rounds: int = 4
    """DAgger rounds after the behaviour-cloning round."""
    bc_frames: int = 40_000
    """Frames of the behaviour-cloning round (the expert drives)."""
    frames_per_round: int = 20_000
    """Frames added by each DAgger round."""
    beta: float = 0.5
    """Probability that the expert drives a step in DAgger round 1."""
    beta_decay: float = 0.5
    """Factor on beta from one DAgger round to the next."""
    expert_noise_std: float = 0.1
    """Std of Gaussian noise on the expert's executed steer and throttle (not its labels)."""
    encoder: str = "nature"
    """roadgym encoder of the student (``build_encoder``)."""
    encoder_options: Mapping[str, Any] = dataclasses.field(
        default_factory=lambda: {"features_dim": 256, "channels": [16, 32, 32]}
    )
    """Options of the student's encoder."""
    image_frames: int = 1
    """Newest camera frames the encoder sees (at most ``frame_stack``)."""
    image_frame_gap: int = 1
    """Steps between those frames: with ``frame_stack`` 10, ``image_frames`` 2 and gap 9
    the encoder sees the newest frame and the one 0.9 s before it (a pedestrian moves 0.3
    pixel a step, so neighbouring frames barely show it move)."""
    earlier_frame_channels: int = 3
    """Channels of each earlier frame the encoder sees: 3 (RGB) or 1 (red only). Measured
    on the 2-core AVX2 CPU, 4 input channels fitted no faster than 6: both about twice
    one RGB frame (torch's CPU convolution is fastest with exactly 3)."""
    nav_scale: float = 5.0
    """Factor on the ``nav`` vector inside the student (see ``StudentExtractor``): x 5 took
    the shipped student's stop-sign violations from 0.5 to 0.12 per route."""
    nav_features: int = 64
    """Width of the student's layer over the ``nav`` vector."""
    net_arch: tuple[int, ...] = (256,)
    """Hidden layers of the policy and value heads."""
    bc: BCSettings = dataclasses.field(default_factory=BCSettings)
    """How the student is fitted each round."""
    selection_episodes: int = 20
    """Held-out episodes (selection seeds, 1,000,000+) that pick the best round's student
    (0: last)."""
    selection_from_round: int = 0
    """First round whose student drives the selection towns; earlier rounds are not
    scored and cannot be picked. Early DAgger students are never the best, and a
    selection drive costs as much as collecting a round's data (0: every round)."""
    final: FinalFit = dataclasses.field(default_factory=FinalFit)
    """The optional last step after the rounds (:mod:`roadgym.agents.imitation.final`):
    the average of the last rounds' students, fitted once more; it competes with the
    rounds on the selection seeds. Changing it does not touch the rounds' data, so a
    finished run takes a new final step on resuming."""

    def __post_init__(self) -> None:
        positive = {
            "num_envs": self.num_envs,
            "bc_frames": self.bc_frames,
            "frames_per_round": self.frames_per_round,
        }
        for name, value in positive.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"ImitationConfig.{name} = {value!r}; allowed: an int >= 1")
        for name in ("rounds", "selection_episodes", "selection_from_round", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"ImitationConfig.{name} = {value!r}; allowed: an int >= 0")
        last_train_seed = self.seed + self.rounds * TRAIN_SEED_STRIDE + self.num_envs - 1
        if last_train_seed >= TRAIN_SEED_LIMIT:
            raise ConfigError(
                f"ImitationConfig.seed = {self.seed} seeds training worlds up to "
                f"{last_train_seed} (round r starts at seed + r * {TRAIN_SEED_STRIDE}); "
                f"allowed: all below {TRAIN_SEED_LIMIT}, the selection and test seeds' start"
            )
        nav_width_ok = isinstance(self.nav_features, int) and self.nav_features >= 1
        if not self.nav_scale > 0 or not nav_width_ok:
            raise ConfigError(
                f"ImitationConfig.nav_scale = {self.nav_scale!r}, nav_features = "
                f"{self.nav_features!r}; allowed: nav_scale > 0, nav_features an int >= 1"
            )
        for name in ("beta", "beta_decay"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"ImitationConfig.{name} = {value!r}; allowed: a float in [0, 1]")
        if self.expert_noise_std < 0.0:
            raise ConfigError(
                f"ImitationConfig.expert_noise_std = {self.expert_noise_std!r}; allowed: >= 0"
            )
        observation = dict(self.env_kwargs).get("observation", "rgb")
        if observation not in ("rgb+nav", "nav+rgb"):
            raise ConfigError(
                f"ImitationConfig.env_kwargs['observation'] = {observation!r}; allowed: "
                "'rgb+nav' (camera, speed and next turn): the student sees only what a car could"
            )
        stack = int(dict(self.env_kwargs).get("frame_stack", 1))
        if not 1 <= self.image_frames <= stack:
            raise ConfigError(
                f"ImitationConfig.image_frames = {self.image_frames!r}; allowed: 1 to the env's "
                f"frame_stack ({stack})"
            )
        span = (self.image_frames - 1) * self.image_frame_gap + 1
        if self.image_frame_gap < 1 or span > stack:
            raise ConfigError(
                f"ImitationConfig.image_frame_gap = {self.image_frame_gap!r}; allowed: an int "
                f">= 1 with (image_frames - 1) * image_frame_gap + 1 <= frame_stack ({stack}) "
                f"(image_frames = {self.image_frames})"
            )
        fixed = sorted({"observation", "frame_stack"} & set(dict(self.collect_env_kwargs)))
        if fixed:
            raise ConfigError(
                f"ImitationConfig.collect_env_kwargs sets {', '.join(fixed)}; allowed: any env "
                "field but observation and frame_stack (what the student sees is env_kwargs')"
            )
        if self.earlier_frame_channels not in (1, 3):
            raise ConfigError(
                f"ImitationConfig.earlier_frame_channels = {self.earlier_frame_channels!r}; "
                "allowed: 1 (red) or 3 (RGB)"
            )
        if self.bc.action_loss not in ("l1", "mse"):
            raise ConfigError(
                f"ImitationConfig.bc.action_loss = {self.bc.action_loss!r}; allowed: 'l1', 'mse'"
            )
        weights = ("transition_weight", "stopping_weight", "waiting_weight", "pedestrian_weight")
        for name in (*weights, "aux_weight"):
            if not getattr(self.bc, name) >= 0:
                raise ConfigError(
                    f"ImitationConfig.bc.{name} = {getattr(self.bc, name)!r}; allowed: a float >= 0"
                )
        if self.bc.epochs < 1 or self.bc.batch_size < 1 or self.bc.learning_rate <= 0:
            raise ConfigError(f"ImitationConfig.bc = {self.bc!r}; epochs, batch_size >= 1, lr > 0")

    def beta_of_round(self, round_index: int) -> float:
        """The expert's share of executed steps in ``round_index`` (1.0 in round 0)."""
        if round_index == 0:
            return 1.0
        return self.beta * self.beta_decay ** (round_index - 1)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for the manifest and the report)."""
        out = dataclasses.asdict(self)
        out["env_kwargs"] = dict(self.env_kwargs)
        out["collect_env_kwargs"] = dict(self.collect_env_kwargs)
        out["encoder_options"] = dict(self.encoder_options)
        out["net_arch"] = list(self.net_arch)
        return out
