import numpy as np
import pytest

from roadgym.envs.core.semantic import SemanticClass
from roadgym.envs.town import TownConfig, TownWorld
from roadgym.envs.town.generator import CONTROL_LIGHT
from roadgym.envs.town.traffic import LIGHT_GREEN, LIGHT_RED, LIGHT_YELLOW, lane_pose

BRAKE = np.array([0.0, -1.0])


def make_world(batch: int, seeds, **fields) -> TownWorld:
    world = TownWorld(TownConfig(**fields), batch)
    for i, seed in enumerate(seeds):
        world.reset_world(i, np.random.default_rng(seed))
    return world


def test_batch_of_16_matches_16_batches_of_one():
    seeds = range(200, 216)
    batch = make_world(16, seeds, observation="rgb+semantic+state")
    singles = [make_world(1, [seed], observation="rgb+semantic+state") for seed in seeds]
    rng = np.random.default_rng(0)
    for _ in range(25):
        controls = np.stack([rng.uniform(-0.2, 0.2, 16), rng.uniform(-0.5, 1.0, 16)], -1)
        reward, terminated = batch.step(controls)
        observation, infos, labels = batch.observe(), batch.infos(), batch.labels()
        for i, single in enumerate(singles):
            single_reward, single_terminated = single.step(controls[i : i + 1])
            assert single_reward[0] == reward[i] and single_terminated[0] == terminated[i]
            for mode, array in single.observe().items():
                np.testing.assert_array_equal(array[0], observation[mode][i])
            for key, value in single.infos().items():
                assert value[0] == infos[key][i], key
            for key, value in single.labels().items():
                assert value[0] == labels[key][i], key
            np.testing.assert_array_equal(single.veh_xy[0], batch.veh_xy[i])
            np.testing.assert_array_equal(single.ped_xy[0], batch.ped_xy[i])


def test_lights_cycle_green_yellow_red_with_the_configured_timing():
    world = make_world(1, [3], green_s=4.0, yellow_s=2.0, all_red_s=1.0, walk_s=5.0)
    lights = world.approach_kind[0] == CONTROL_LIGHT
    assert lights.any()
    q = int(np.flatnonzero(lights)[0])
    cycle = int(world.approach_cycle[0, q])
    states = []
    for _ in range(cycle):
        world.step(BRAKE[None])
        states.append(int(world.light_state[0, q]))
    states = np.array(states)
    assert (states == LIGHT_GREEN).sum() == 40 and (states == LIGHT_YELLOW).sum() == 20
    assert (states == LIGHT_RED).sum() == cycle - 60
    # Green is followed by yellow, never directly by red.
    after_green = states[1:][(states[:-1] == LIGHT_GREEN) & (states[1:] != LIGHT_GREEN)]
    assert (after_green == LIGHT_YELLOW).all()
    # The stop line in the map raster shows the light's colour.
    assert (world._raster_buffer[world.light_pixels[0, q]] == SemanticClass.LIGHT_RED).any() or (
        world.light_state[0, q] != LIGHT_RED
    )


def test_npc_cars_never_cross_a_stop_line_on_red_and_do_move():
    world = make_world(4, range(10, 14))
    b = np.arange(4)[:, None]
    moved = 0.0
    for _ in range(400):
        old_lane = world.veh_lane[..., 0].copy()
        approach = world.lane_approach[b, old_lane]
        world.step(np.tile(BRAKE, (4, 1)))
        crossed = (world.veh_lane[..., 0] != old_lane) & (approach >= 0)
        state = np.take_along_axis(world.light_state, np.maximum(approach, 0), 1)
        kind = np.take_along_axis(world.approach_kind, np.maximum(approach, 0), 1)
        assert not (crossed & (kind == CONTROL_LIGHT) & (state == LIGHT_RED)).any()
        moved += world.veh_speed.sum() * 0.1
    assert moved > 4 * 20 * 50.0  # on average more than 50 m per car


def test_ego_collision_with_a_vehicle_and_a_pedestrian_ends_the_episode():
    world = make_world(2, [1, 2])
    # Put NPC car 0 of world 0 on the ego car, and pedestrian 0 of world 1.
    xy, heading = world.ego_xy(), world.car.heading_rad
    world.veh_xy[0, 0] = xy[0]
    world.veh_heading[0, 0] = heading[0] + 0.3
    world.ped_xy[1, 0] = world.ego_xy()[1] + 0.5
    from roadgym.envs.town.ego import collisions

    hit_vehicle, hit_pedestrian = collisions(world)
    assert hit_vehicle.tolist() == [True, False] and hit_pedestrian.tolist() == [False, True]
    # Far away, nothing is hit.
    world.veh_xy[0, 0] += 20.0
    world.ped_xy[1, 0] += 20.0
    assert not any(collisions(world)[0]) and not any(collisions(world)[1])


def test_a_car_parked_on_the_ego_is_counted_and_ends_the_episode_with_the_penalty():
    world = make_world(1, [1])
    graph = world.towns[0].lane_graph
    lane = int(world.route_segment_lane[0, world.route_segment[0]])
    first = graph[lane].successors[0]
    world.veh_lane[0, 0] = (lane, first, graph[first].successors[0])
    world.veh_s[0, 0] = float(graph[lane].centreline.project(world.ego_xy())[0][0]) + 1.0
    reward, terminated = world.step(BRAKE[None])
    assert terminated[0] and reward[0] == pytest.approx(-50.01)
    assert world.infos()["collisions_vehicle"][0] == 1
    assert world.infos()["driving_score"][0] < 0.6 * world.infos()["route_completion"][0] + 1e-9


def test_oriented_boxes_touching_only_at_an_angle_collide():
    world = make_world(1, [4])
    world.car.heading_rad[0] = 0.0
    x, y = world.car.x_m[0], world.car.y_m[0]
    world.veh_heading[0] = np.pi / 4
    world.veh_xy[0] = (x + 1000.0, y)
    world.veh_xy[0, 0] = (x + 2.25 + 1.5, y)  # corner of a 45 degree car near the front
    from roadgym.envs.town.ego import collisions

    assert collisions(world)[0][0]
    world.veh_xy[0, 0] = (x + 2.25 + 2.6, y)
    assert not collisions(world)[0][0]


def test_camera_draws_cars_pedestrians_and_the_route_and_labels_see_them():
    world = make_world(1, [6], observation="semantic")
    ahead = world.s_m[0] + 2.25 + 8.0
    from roadgym.envs.town.ego import route_points

    point = route_points(world, np.array([[ahead]]))[0, 0]
    world.veh_xy[0, 0] = point
    world.veh_heading[0, 0] = world.car.heading_rad[0]
    view = world.semantic_view()[0]
    assert (view == SemanticClass.VEHICLE).sum() > 20
    assert (view == SemanticClass.ROUTE).any() and (view == SemanticClass.EGO_CAR).any()
    labels = world.labels()
    assert labels["object_ahead"][0] == 1 and 4.0 < labels["object_distance_m"][0] < 9.0
    world.veh_xy[0, 0] += 500.0
    world.ped_xy[0, 0] = point
    view = world.semantic_view()[0]
    assert (view == SemanticClass.PEDESTRIAN).any()
    assert world.labels()["object_ahead"][0] == 2


def test_steering_hard_leaves_the_road_and_terminates_with_a_penalty():
    world = make_world(2, [0, 1])
    for _ in range(200):
        reward, terminated = world.step(np.array([[1.0, 1.0], [-1.0, 1.0]]))
        if terminated.all():
            break
    infos = world.infos()
    assert terminated.all() and (infos["off_road"] | infos["off_route"]).all()
    assert (reward < -10).all()


def test_npc_poses_follow_their_lanes():
    world = make_world(1, [8])
    for _ in range(50):
        world.step(BRAKE[None])
    b = np.arange(1)[:, None]
    xy, heading = lane_pose(world, b, world.veh_lane[..., 0], world.veh_s)
    np.testing.assert_allclose(xy, world.veh_xy)


@pytest.mark.parametrize("bad", [0, -3])
def test_batch_size_must_be_positive(bad):
    with pytest.raises(ValueError, match="batch_size"):
        TownWorld(TownConfig(), bad)


def test_light_bars_read_without_drawing_are_the_pixels_cv2_fills():
    # light_bar_table computes the pixels of axis-aligned bars instead of drawing them;
    # they must stay cv2.fillConvexPoly's (whatever OpenCV is installed), here on random
    # rectangles in cv2's fixed point, thin ones and those a pixel centre apart included.
    import cv2

    from roadgym.envs.town.raster import SUBPIXEL_BITS, _rectangle_pixels

    rng = np.random.default_rng(0)
    side = 40
    for _ in range(2000):
        low = rng.integers(0, 16 * (side - 3) - 40, 2)
        size = rng.integers(0, 40, 2) * rng.integers(0, 2, 2) + rng.integers(0, 3, 2)
        (x0, y0), (x1, y1) = low, low + size
        corners = np.array([[x1, y1], [x1, y0], [x0, y0], [x0, y1]], dtype=np.int32)
        corners = np.roll(corners, rng.integers(4), axis=0)[:: rng.choice([-1, 1])]
        drawn = np.zeros((side, side), np.uint8)
        cv2.fillConvexPoly(drawn, corners, 1, shift=SUBPIXEL_BITS)
        rows, cols, count = _rectangle_pixels(corners[None], side)
        computed = np.zeros_like(drawn)
        computed[rows, cols] = 1
        assert count[0] == len(rows) == drawn.sum()
        np.testing.assert_array_equal(computed, drawn, err_msg=str(corners.tolist()))
