"""Distil a ResNet teacher into a small CNN student; see ``--help``.

Library: roadgym.perception.cli.

Example::

    python scripts/distill.py --dataset data/track --task road_layout \\
        --teacher-epochs 5 --student-epochs 5 --temperature 4 --alpha 0.9 --out runs/distill
"""

from roadgym.perception.cli import distill_main

if __name__ == "__main__":
    distill_main()
