"""Town-v0's light label names only what the camera shows."""

import gymnasium as gym

import roadgym  # noqa: F401
from roadgym.drivers.expert import ExpertDriver
from roadgym.envs.core.semantic import SemanticClass

LIGHT_CLASS = {
    1: SemanticClass.LIGHT_RED,
    2: SemanticClass.LIGHT_YELLOW,
    3: SemanticClass.LIGHT_GREEN,
}


def test_every_light_label_has_its_stop_line_in_the_frame():
    env = gym.make("roadgym/Town-v0", observation="semantic")
    expert = ExpertDriver(env)
    labelled = 0
    for seed in range(2):
        observation, info = env.reset(seed=seed)
        for _ in range(500):
            light = info["labels"]["light_state"]
            if light:
                labelled += 1
                assert (observation == LIGHT_CLASS[light]).any(), (seed, light)
            action, _ = expert.predict(observation)
            observation, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
    assert labelled > 50
