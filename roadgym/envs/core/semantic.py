"""Semantic classes of the map raster and camera, and the palette that colours them."""

from __future__ import annotations

import enum

import numpy as np


class SemanticClass(enum.IntEnum):
    """Class id of a pixel in the semantic raster and in ``semantic`` observations."""

    GRASS = 0
    ROAD = 1
    LANE_MARKING = 2
    ROAD_EDGE = 3
    EGO_CAR = 4
    VEHICLE = 5
    # Town classes (roadgym/Town-v0); appended so Track ids never change.
    SIDEWALK = 6
    CROSSWALK = 7
    ROUTE = 8
    PEDESTRIAN = 9
    LIGHT_RED = 10  # stop line of an approach whose light shows red
    LIGHT_YELLOW = 11
    LIGHT_GREEN = 12
    STOP_LINE = 13  # stop line of an approach with a stop sign


DRIVABLE_CLASSES = (SemanticClass.ROAD, SemanticClass.LANE_MARKING, SemanticClass.ROAD_EDGE)
# In a town the markings painted on the road are drivable too; kerbs are sidewalk.
TOWN_DRIVABLE_CLASSES = (
    SemanticClass.ROAD,
    SemanticClass.LANE_MARKING,
    SemanticClass.CROSSWALK,
    SemanticClass.ROUTE,
    SemanticClass.LIGHT_RED,
    SemanticClass.LIGHT_YELLOW,
    SemanticClass.LIGHT_GREEN,
    SemanticClass.STOP_LINE,
)

# RGB colour of each class, indexed by class id.
PALETTE = np.zeros((256, 3), dtype=np.uint8)
PALETTE[SemanticClass.GRASS] = (64, 140, 64)
PALETTE[SemanticClass.ROAD] = (96, 96, 100)
PALETTE[SemanticClass.LANE_MARKING] = (235, 235, 235)
PALETTE[SemanticClass.ROAD_EDGE] = (220, 60, 50)
PALETTE[SemanticClass.EGO_CAR] = (40, 110, 230)
PALETTE[SemanticClass.VEHICLE] = (240, 200, 40)
PALETTE[SemanticClass.SIDEWALK] = (175, 170, 160)
PALETTE[SemanticClass.CROSSWALK] = (215, 215, 200)
PALETTE[SemanticClass.ROUTE] = (60, 200, 220)
PALETTE[SemanticClass.PEDESTRIAN] = (255, 90, 200)
PALETTE[SemanticClass.LIGHT_RED] = (230, 20, 20)
PALETTE[SemanticClass.LIGHT_YELLOW] = (255, 140, 0)
PALETTE[SemanticClass.LIGHT_GREEN] = (20, 230, 60)
PALETTE[SemanticClass.STOP_LINE] = (150, 0, 70)

NUM_CLASSES = len(SemanticClass)


def colourise(semantic: np.ndarray) -> np.ndarray:
    """Map class ids (...,) to RGB (..., 3) uint8 through the palette."""
    return PALETTE[semantic]
