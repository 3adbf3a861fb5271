"""The native vector env: spaces, autoreset, seeding, equivalence with the single env."""

import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import roadgym  # noqa: F401  (registers the env ids)
from roadgym.envs import TrackConfig
from roadgym.envs.track.vector_env import TrackVectorEnv

SHORT = 30  # max_episode_steps that make truncations happen within a short test


def make_vec(num_envs, **kwargs):
    return gym.make_vec(
        "roadgym/Track-v0", num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs
    )


def random_actions(envs, steps, seed=0):
    """Actions under which some worlds leave the road and others run out of time."""
    n = envs.num_envs
    rng = np.random.default_rng(seed)
    if isinstance(envs.single_action_space, gym.spaces.Discrete):
        actions = [rng.integers(0, 9, n) for _ in range(steps)]
        for action in actions:
            action[0] = rng.integers(0, 2)  # world 0 coasts or speeds straight on
        return actions
    # Full throttle, weaving: gently in world 0, harder in the others.
    amplitude = np.linspace(0.05, 1.5, n)
    return [
        np.stack(
            [np.clip(amplitude * np.sin(t / 7 + np.arange(n)), -1, 1), np.ones(n)], axis=-1
        ).astype(np.float32)
        for t in range(steps)
    ]


def single_transcript(seed, actions, autoreset_mode, **fields):
    """What ``gymnasium.make`` (TimeLimit included) gives world by world, step by step."""
    env = gym.make("roadgym/Track-v0", **fields)
    observation, info = env.reset(seed=seed)
    out = [(observation, 0.0, False, False, info, None)]
    ended = False
    for action in actions:
        if autoreset_mode == AutoresetMode.NEXT_STEP and ended:
            observation, info = env.reset()
            out.append((observation, 0.0, False, False, info, None))
            ended = False
            continue
        observation, reward, terminated, truncated, info = env.step(action)
        ended = terminated or truncated
        final = None
        if autoreset_mode == AutoresetMode.SAME_STEP and ended:
            final = (observation, info)
            observation, info = env.reset()
        out.append((observation, reward, terminated, truncated, info, final))
    return out


def assert_obs_equal(batched, index, single):
    if isinstance(single, dict):
        assert batched.keys() == single.keys()
        for key in single:
            np.testing.assert_array_equal(batched[key][index], single[key])
    else:
        np.testing.assert_array_equal(batched[index], single)


def assert_info_equal(batched, index, single):
    for key, value in single.items():
        assert batched["_" + key][index], key
        if isinstance(value, dict):
            assert_info_equal(batched[key], index, value)
        else:
            assert batched[key][index] == value, key


@pytest.mark.parametrize(
    ("autoreset_mode", "fields"),
    [
        (AutoresetMode.NEXT_STEP, {}),
        (AutoresetMode.SAME_STEP, {}),
        (AutoresetMode.NEXT_STEP, {"observation": "rgb+state", "frame_stack": 3}),
        (AutoresetMode.SAME_STEP, {"observation": "semantic", "action_type": "discrete"}),
    ],
)
def test_world_i_equals_a_single_env_seeded_s_plus_i_across_episode_ends(autoreset_mode, fields):
    num_envs, seed, steps = 3, 40, 80
    envs = make_vec(num_envs, max_episode_steps=SHORT, autoreset_mode=autoreset_mode, **fields)
    actions = random_actions(envs, steps)
    observation, info = envs.reset(seed=seed)
    vector = [(observation, np.zeros(num_envs), None, None, info)]
    for action in actions:
        observation, reward, terminated, truncated, info = envs.step(action)
        vector.append((observation, reward, terminated, truncated, info))

    ends = {"terminated": 0, "truncated": 0}
    for i in range(num_envs):
        single = single_transcript(
            seed + i, [a[i] for a in actions], autoreset_mode, max_episode_steps=SHORT, **fields
        )
        for t, (v, s) in enumerate(zip(vector, single, strict=True)):
            v_obs, v_reward, v_term, v_trunc, v_info = v
            s_obs, s_reward, s_term, s_trunc, s_info, s_final = s
            assert_obs_equal(v_obs, i, s_obs)
            assert_info_equal(v_info, i, s_info)
            assert v_reward[i] == s_reward, t
            if t > 0:
                assert (v_term[i], v_trunc[i]) == (s_term, s_trunc), t
                ends["terminated"] += s_term
                ends["truncated"] += s_trunc
            if s_final is not None:
                assert v_info["_final_obs"][i] and v_info["_final_info"][i]
                final_obs = v_info["final_obs"][i]
                if isinstance(s_final[0], dict):
                    for key in s_final[0]:
                        np.testing.assert_array_equal(final_obs[key], s_final[0][key])
                else:
                    np.testing.assert_array_equal(final_obs, s_final[0])
                assert_info_equal(v_info["final_info"], i, s_final[1])
            elif autoreset_mode == AutoresetMode.SAME_STEP and t > 0:
                assert not v_info.get("_final_obs", np.zeros(num_envs, bool))[i]
    # The comparison did cross episode ends of both kinds.
    assert ends["terminated"] >= 2 and ends["truncated"] >= 1, ends


def test_make_vec_gives_the_native_env_with_batched_spaces_and_declared_autoreset():
    envs = make_vec(4, observation="rgb+state", action_type="discrete")
    single = gym.make("roadgym/Track-v0", observation="rgb+state", action_type="discrete")
    assert isinstance(envs, TrackVectorEnv)
    assert envs.num_envs == 4
    assert envs.single_observation_space == single.observation_space
    assert envs.single_action_space == single.action_space
    assert envs.observation_space["rgb"].shape == (4, 64, 64, 3)
    assert envs.action_space == gym.spaces.MultiDiscrete([9] * 4)
    assert envs.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert envs.max_episode_steps == 1000  # from the registration, like the single env
    observation, _ = envs.reset(seed=0)
    assert envs.observation_space.contains(observation)
    observation, reward, terminated, truncated, _ = envs.step(envs.action_space.sample())
    assert envs.observation_space.contains(observation)
    assert reward.shape == terminated.shape == truncated.shape == (4,)
    assert terminated.dtype == truncated.dtype == np.bool_


def test_truncation_at_max_episode_steps_then_autoreset():
    envs = make_vec(2, max_episode_steps=5, observation="state")
    envs.reset(seed=1)
    coast = np.zeros((2, 2), np.float32)
    for _ in range(4):
        *_, truncated, _ = envs.step(coast)
        assert not truncated.any()
    _, _, terminated, truncated, _ = envs.step(coast)
    assert truncated.all() and not terminated.any()
    _, reward, _, truncated, info = envs.step(coast)  # the autoreset step
    assert not truncated.any() and np.all(reward == 0.0) and np.all(info["progress"] == 0.0)


def test_reset_seeds_world_i_with_seed_plus_i_and_lists_of_seeds():
    envs = make_vec(3, observation="state")
    by_int, _ = envs.reset(seed=7)
    by_list, _ = envs.reset(seed=[7, 8, 9])
    np.testing.assert_array_equal(by_int, by_list)
    shuffled, _ = envs.reset(seed=[9, 7, 8])
    np.testing.assert_array_equal(shuffled[1], by_int[0])
    with pytest.raises(ValueError, match="seed"):
        envs.reset(seed=[1, 2])


def test_partial_reset_with_a_mask_and_disabled_autoreset():
    envs = make_vec(3, max_episode_steps=2, autoreset_mode="Disabled", observation="state")
    first, _ = envs.reset(seed=0)
    envs.step(np.ones((3, 2), np.float32))
    _, _, _, truncated, _ = envs.step(np.ones((3, 2), np.float32))
    assert truncated.all()
    with pytest.raises(RuntimeError, match="reset_mask"):
        envs.step(np.zeros((3, 2), np.float32))
    mask = np.array([True, False, True])
    observation, info = envs.reset(seed=0, options={"reset_mask": mask})
    np.testing.assert_array_equal(observation[mask], first[mask])
    assert info["_progress"].tolist() == mask.tolist()
    with pytest.raises(RuntimeError, match=r"world\(s\) \[1\]"):
        envs.step(np.zeros((3, 2), np.float32))
    envs.reset(options={"reset_mask": ~mask})
    envs.step(np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="reset_mask"):
        envs.reset(options={"reset_mask": [True, False, True]})


def test_misuse_raises_clear_errors():
    envs = make_vec(2)
    with pytest.raises(RuntimeError, match="before reset"):
        envs.step(np.zeros((2, 2), np.float32))
    envs.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(2,\).*expected numbers of shape \(2, 2\)"):
        envs.step(np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="NaN"):
        envs.step(np.full((2, 2), np.nan, np.float32))
    with pytest.raises(ValueError, match="num_envs"):
        TrackVectorEnv(num_envs=0)
    with pytest.raises(ValueError, match="autoreset_mode.*allowed"):
        TrackVectorEnv(num_envs=1, autoreset_mode="sometimes")
    with pytest.raises(ValueError, match="max_episode_steps"):
        TrackVectorEnv(num_envs=1, max_episode_steps=0)
    with pytest.raises(ValueError, match="frame_stack"):
        TrackVectorEnv(num_envs=1, frame_stack=0)


@pytest.mark.parametrize("observation", ["rgb", "semantic", "state"])
def test_frame_stack_fills_on_reset_and_shifts_oldest_first(observation):
    k = 3
    config = TrackConfig(observation=observation, frame_stack=k)
    plain = make_vec(2, config=TrackConfig(observation=observation))
    stacked = make_vec(2, config=config)
    channels = {"rgb": 3, "semantic": 1, "state": 8}[observation]
    first, _ = stacked.reset(seed=5)
    frame, _ = plain.reset(seed=5)
    if observation == "semantic":
        frame = frame[..., None]
    assert first.shape == (2, *frame.shape[1:-1], k * channels)
    assert stacked.observation_space.contains(first)
    np.testing.assert_array_equal(first, np.concatenate([frame] * k, axis=-1))
    previous = first
    for _ in range(4):
        action = np.array([[0.3, 1.0], [-0.3, 0.5]], np.float32)
        current, *_ = stacked.step(action)
        frame, *_ = plain.step(action)
        if observation == "semantic":
            frame = frame[..., None]
        np.testing.assert_array_equal(current[..., :-channels], previous[..., channels:])
        np.testing.assert_array_equal(current[..., -channels:], frame)
        previous = current


def test_frame_stack_single_env_passes_the_checker_and_renders():
    from gymnasium.utils.env_checker import check_env

    env = gym.make("roadgym/Track-v0", frame_stack=4, render_mode="rgb_array")
    check_env(env.unwrapped, skip_render_check=False)
    observation, _ = env.reset(seed=0)
    assert observation.shape == (64, 64, 12)
    assert env.render().shape == (512, 512, 3)


def test_render_gives_one_frame_per_world():
    envs = make_vec(2, render_mode="rgb_array", render_size_px=128)
    envs.reset(seed=0)
    frames = envs.render()
    assert len(frames) == 2 and frames[0].shape == (128, 128, 3)
    assert not np.array_equal(frames[0], frames[1])


def test_pickled_vector_env_continues_identically():
    envs = make_vec(2, observation="rgb+state")
    envs.reset(seed=3)
    actions = random_actions(envs, 10)
    for action in actions[:5]:
        envs.step(action)
    copy = pickle.loads(pickle.dumps(envs))
    for action in actions[5:]:
        a = envs.step(action)
        b = copy.step(action)
        for key in a[0]:
            np.testing.assert_array_equal(a[0][key], b[0][key])
        np.testing.assert_array_equal(a[1], b[1])


def test_async_vector_env_with_spawned_workers_matches_the_native_env():
    # "spawn" workers import nothing from the parent: the env id must register itself
    # when the entry point is imported, and everything sent over must pickle.
    kwargs = {"observation": "state", "max_episode_steps": SHORT}
    async_envs = gym.make_vec(
        "roadgym/Track-v0",
        num_envs=2,
        vectorization_mode="async",
        vector_kwargs={"context": "spawn"},
        **kwargs,
    )
    native = make_vec(2, **kwargs)
    try:
        actions = random_actions(native, 30)
        a, _ = async_envs.reset(seed=2)
        b, _ = native.reset(seed=2)
        np.testing.assert_array_equal(a, b)
        for action in actions:
            a = async_envs.step(action)
            b = native.step(action)
            for x, y in zip(a[:4], b[:4], strict=True):
                np.testing.assert_array_equal(x, y)
    finally:
        async_envs.close()
