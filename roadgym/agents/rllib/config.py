"""An RLlib ``PPOConfig`` from roadgym's PPO hyperparameters (``hyperparams/ppo.yml``).

The YAML is written in SB3's vocabulary; this maps it key by key, with SB3's defaults for
keys the entry leaves out (read from the installed SB3's ``PPO`` signature, as
``hyperparams`` reads its argument names), so one entry means the same PPO on both
backends:

==================  ==============================  =========================================
SB3 / YAML          RLlib                           note
==================  ==============================  =========================================
n_steps             rollout_fragment_length         per world; batch = n_steps x all worlds
batch_size          minibatch_size
n_epochs            num_epochs
learning_rate       lr                              ``lin_x``: [[0, x], [n_timesteps, 0]]
gamma, gae_lambda   gamma, lambda\\_
clip_range          clip_param                      a number (RLlib has no clip schedule)
ent_coef, vf_coef   entropy_coeff, vf_loss_coeff
max_grad_norm       grad_clip (global norm)
normalize.reward    NormalizeReward in the env      per env runner statistics
(none)              use_kl_loss=False,              SB3 has no KL penalty and no value clip
                    vf_clip_param=inf
==================  ==============================  =========================================

Any other PPO argument in the entry raises :class:`HyperparamError` naming it.
"""

from __future__ import annotations

import math
from typing import Any

from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from roadgym.agents.algo_defaults import sb3_defaults
from roadgym.agents.hyperparams import HyperparamError, TrainSettings, _parse_schedule
from roadgym.agents.rllib.callbacks import driving_metrics_callback
from roadgym.agents.rllib.envs import NORMALIZE_REWARD_KEY, register_rllib_envs
from roadgym.agents.rllib.module import RoadgymPPOModule, encoder_model_config
from roadgym.envs.seeds import TRAIN_SEED_LIMIT

__all__ = [
    "SUPPORTED_PPO_KEYS",
    "build_ppo_config",
    "env_config_of",
    "sb3_ppo_defaults",
]

# The SB3 PPO arguments the table above maps; a key the entry leaves out takes SB3's own
# default, read from the installed SB3's signature (roadgym.agents.algo_defaults).
SUPPORTED_PPO_KEYS = (
    "n_steps",
    "batch_size",
    "n_epochs",
    "learning_rate",
    "gamma",
    "gae_lambda",
    "clip_range",
    "ent_coef",
    "vf_coef",
    "max_grad_norm",
)


def sb3_ppo_defaults() -> dict[str, Any]:
    """SB3 PPO's defaults of :data:`SUPPORTED_PPO_KEYS`, from SB3's own signature."""
    return sb3_defaults("ppo", SUPPORTED_PPO_KEYS)


def __getattr__(name: str) -> Any:
    # SB3_PPO_DEFAULTS was a hand copy of SB3's defaults (roadgym 0.1); it is now read
    # from SB3 on use.
    if name == "SB3_PPO_DEFAULTS":
        return sb3_ppo_defaults()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _ppo_arguments(settings: TrainSettings) -> dict[str, Any]:
    unsupported = sorted(set(settings.algo_kwargs) - set(SUPPORTED_PPO_KEYS))
    if unsupported:
        raise HyperparamError(
            f"PPO key(s) {', '.join(map(repr, unsupported))} have no RLlib counterpart in "
            f"roadgym's mapping; the rllib backend takes: {', '.join(SUPPORTED_PPO_KEYS)}"
        )
    if settings.policy_kwargs:
        raise HyperparamError(
            f"policy_kwargs = {settings.policy_kwargs!r} are SB3 policy options; the rllib "
            "backend's network is set by encoder, encoder_options, pretrained and freeze"
        )
    if settings.norm_obs:
        raise HyperparamError(
            "normalize.norm_obs = True is not supported by the rllib backend (the encoder "
            "normalises uint8 frames itself); set it to false"
        )
    if settings.policy != "CnnPolicy":
        raise HyperparamError(
            f"policy = {settings.policy!r}; the rllib backend drives image observations only "
            "(allowed: 'CnnPolicy')"
        )
    return {**sb3_ppo_defaults(), **settings.algo_kwargs}


def _learning_rate(value: Any, n_timesteps: int) -> float | list[list[float]]:
    if isinstance(value, str):
        initial = _parse_schedule("learning_rate", value)
        if initial is None:
            raise HyperparamError(f"learning_rate = {value!r}; allowed: a number or 'lin_<x>'")
        # RLlib interpolates linearly between [env steps, lr] points, as SB3's lin_ does.
        return [[0, initial], [n_timesteps, 0.0]]
    return float(value)


def env_config_of(settings: TrainSettings, gamma: float) -> dict[str, Any]:
    """The env config every env runner builds its worlds from."""
    env_config: dict[str, Any] = dict(settings.env_kwargs)
    if settings.frame_stack > 1:
        # No VecFrameStack here: the world stacks frames itself (channels k x 3).
        env_config["frame_stack"] = settings.frame_stack
    if settings.norm_reward:
        env_config[NORMALIZE_REWARD_KEY] = gamma
    return env_config


def build_ppo_config(
    settings: TrainSettings,
    *,
    num_env_runners: int = 0,
    envs_per_runner: int | None = None,
    tb_dir: str | None = None,
    num_cpus_per_env_runner: float = 1.0,
) -> PPOConfig:
    """RLlib PPO for ``settings`` (from :func:`roadgym.agents.hyperparams.resolve_settings`).

    :param num_env_runners: remote env runners (0: the driver samples itself).
    :param envs_per_runner: worlds in each runner's batched vector env (default
        ``settings.n_envs``); the train batch is ``n_steps x max(K, 1) x M`` env steps.
    :param tb_dir: TensorBoard directory for the driving-metrics callback (None: none).
    """
    if settings.algo != "ppo":
        raise HyperparamError(f"algo = {settings.algo!r}; the rllib backend supports: ppo")
    for name, value in (("num_env_runners", num_env_runners), ("envs_per_runner", envs_per_runner)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise HyperparamError(f"{name} = {value!r}; allowed: an int")
    if num_env_runners < 0:
        raise HyperparamError(f"num_env_runners = {num_env_runners}; allowed: an int >= 0")
    worlds = settings.n_envs if envs_per_runner is None else envs_per_runner
    if worlds < 1:
        raise HyperparamError(f"envs_per_runner = {worlds}; allowed: an int >= 1")
    highest_seed = (settings.seed + num_env_runners) * worlds + worlds - 1  # see envs.py
    if highest_seed >= TRAIN_SEED_LIMIT:
        raise HyperparamError(
            f"seed = {settings.seed} with {num_env_runners} env runners x {worlds} worlds seeds "
            f"worlds up to {highest_seed}; allowed: below {TRAIN_SEED_LIMIT} (held-out seeds "
            "start there)"
        )
    args = _ppo_arguments(settings)
    clip = args["clip_range"]
    if isinstance(clip, str):
        raise HyperparamError(
            f"clip_range = {clip!r}; the rllib backend takes a number (no clip schedule)"
        )
    n_steps = int(args["n_steps"])
    batch = n_steps * max(num_env_runners, 1) * worlds
    minibatch = int(args["batch_size"])
    if minibatch > batch:
        raise HyperparamError(
            f"batch_size = {minibatch} exceeds the train batch n_steps x runners x worlds = "
            f"{n_steps} x {max(num_env_runners, 1)} x {worlds} = {batch}"
        )
    register_rllib_envs()
    model_config = encoder_model_config(
        settings.encoder, settings.encoder_options, settings.pretrained, settings.freeze
    )
    return (
        PPOConfig()
        .environment(settings.env_id, env_config=env_config_of(settings, float(args["gamma"])))
        .framework("torch")
        .env_runners(
            num_env_runners=num_env_runners,
            num_envs_per_env_runner=worlds,
            gym_env_vectorize_mode="vector_entry_point",
            rollout_fragment_length=n_steps,
            num_cpus_per_env_runner=num_cpus_per_env_runner,
        )
        .learners(num_learners=0)
        .training(
            train_batch_size_per_learner=batch,
            minibatch_size=minibatch,
            num_epochs=int(args["n_epochs"]),
            lr=_learning_rate(args["learning_rate"], settings.n_timesteps),
            gamma=float(args["gamma"]),
            lambda_=float(args["gae_lambda"]),
            clip_param=float(clip),
            entropy_coeff=float(args["ent_coef"]),
            vf_loss_coeff=float(args["vf_coef"]),
            grad_clip=float(args["max_grad_norm"]),
            grad_clip_by="global_norm",
            use_kl_loss=False,
            vf_clip_param=math.inf,
        )
        .rl_module(
            rl_module_spec=RLModuleSpec(module_class=RoadgymPPOModule, model_config=model_config)
        )
        .callbacks(driving_metrics_callback(tb_dir))
        .debugging(seed=settings.seed)
    )
