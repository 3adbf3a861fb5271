"""What every roadgym world shares: the simulator core.

``lane_graph`` (the one map structure), ``dynamics`` (the bicycle model), ``camera``
(ego-centric crops of a semantic raster), ``map_raster`` (world meters to pixels),
``semantic`` (class ids and palette), ``config`` (typed, validated config base and the
shared car and camera fields), ``spaces`` (observation and action spaces), ``frame_stack``,
``world_env`` (the single env over a batch of one), ``vector_env`` (the native vector
env), ``sb3_vec_env`` (the stable-baselines3 adapter), ``rendering`` (HUD, inset and
window) and ``manual_control`` (keyboard play). Nothing here imports a world.
"""
