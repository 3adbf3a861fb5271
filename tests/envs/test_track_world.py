import numpy as np
import pytest

from roadgym.envs.core.semantic import SemanticClass
from roadgym.envs.track.config import TrackConfig
from roadgym.envs.track.world import TrackWorld
from tests.envs.driving import centreline_controller


def reset_all(world: TrackWorld, seeds) -> None:
    for i, seed in enumerate(seeds):
        world.reset_world(i, np.random.default_rng(seed))


def test_batch_of_16_matches_16_batches_of_one():
    config = TrackConfig(observation="rgb+semantic+state")
    seeds = range(100, 116)
    batch = TrackWorld(config, 16)
    reset_all(batch, seeds)
    singles = [TrackWorld(config, 1) for _ in seeds]
    for single, seed in zip(singles, seeds, strict=True):
        reset_all(single, [seed])
    rng = np.random.default_rng(0)
    for _ in range(30):
        controls = rng.uniform(-1, 1, (16, 2))
        reward, terminated = batch.step(controls)
        observation = batch.observe()
        for i, single in enumerate(singles):
            single_reward, single_terminated = single.step(controls[i : i + 1])
            assert single_reward[0] == reward[i]
            assert single_terminated[0] == terminated[i]
            for mode, array in single.observe().items():
                np.testing.assert_array_equal(array[0], observation[mode][i])


def test_camera_shows_road_under_the_car_and_the_car_pointing_up():
    world = TrackWorld(TrackConfig(), 4)
    reset_all(world, range(4))
    semantic = world.semantic_view()
    size = world.config.camera_size_px
    car_row, car_col = int(0.75 * size), size // 2
    assert (semantic[:, car_row, car_col] == SemanticClass.EGO_CAR).all()
    # The ego stamp is about 4.5 m x 2 m at 0.5 m/px, long side up.
    rows, cols = np.nonzero(semantic[0] == SemanticClass.EGO_CAR)
    assert 9 <= np.ptp(rows) + 1 <= 10 and 4 <= np.ptp(cols) + 1 <= 5
    # Straight ahead of a car on the start line lies road, not grass.
    ahead = semantic[:, car_row - 8, car_col]
    assert np.isin(ahead, [SemanticClass.ROAD, SemanticClass.LANE_MARKING]).all()
    rgb = world.camera.rgb(semantic)
    assert rgb.dtype == np.uint8 and rgb.shape == (4, size, size, 3)


def test_driving_straight_leaves_the_road_and_terminates_with_the_penalty():
    world = TrackWorld(TrackConfig(), 2)
    reset_all(world, [0, 1])
    controls = np.array([[1.0, 1.0], [1.0, 1.0]])  # full right from the start line
    for _ in range(200):
        reward, terminated = world.step(controls)
        if terminated.all():
            break
    assert world.off_road.all()
    assert (reward < -world.config.off_road_penalty + 1).all()


def test_a_full_lap_sums_to_the_lap_reward():
    config = TrackConfig(observation="state", step_penalty=0.0)
    world = TrackWorld(config, 3)
    reset_all(world, [3, 4, 5])
    total = np.zeros(3)
    done = np.zeros(3, dtype=bool)
    for _ in range(2000):
        reward, terminated = world.step(centreline_controller(world.state_vector()))
        total += np.where(done, 0.0, reward)
        done |= terminated
        if done.all():
            break
    assert world.lap_completed.all() and not world.off_road.any()
    np.testing.assert_allclose(total, config.lap_reward, rtol=1e-9)


def test_rejects_empty_batches():
    with pytest.raises(ValueError, match="batch_size = 0"):
        TrackWorld(TrackConfig(), 0)
