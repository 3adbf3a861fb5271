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


DRIVABLE_CLASSES = (SemanticClass.ROAD, SemanticClass.LANE_MARKING, SemanticClass.ROAD_EDGE)

# RGB colour of each class, indexed by class id.
PALETTE = np.zeros((256, 3), dtype=np.uint8)
PALETTE[SemanticClass.GRASS] = (64, 140, 64)
PALETTE[SemanticClass.ROAD] = (96, 96, 100)
PALETTE[SemanticClass.LANE_MARKING] = (235, 235, 235)
PALETTE[SemanticClass.ROAD_EDGE] = (220, 60, 50)
PALETTE[SemanticClass.EGO_CAR] = (40, 110, 230)
PALETTE[SemanticClass.VEHICLE] = (240, 200, 40)

NUM_CLASSES = len(SemanticClass)


def colourise(semantic: np.ndarray) -> np.ndarray:
    """Map class ids (...,) to RGB (..., 3) uint8 through the palette."""
    return PALETTE[semantic]
