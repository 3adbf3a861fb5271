"""Train a roadgym image classifier; see ``--help``. Library: roadgym.perception.cli.

Examples::

    # generate a Track-v0 road_layout dataset (if absent) and train a ResNet on it
    python scripts/train_classifier.py --env roadgym/Track-v0 --dataset data/track \\
        --task road_layout --encoder resnet --epochs 5 --out runs/track_resnet
    # CIFAR-10 from a local cifar-10-batches-py folder (nothing is downloaded)
    python scripts/train_classifier.py --cifar10 data/cifar-10-batches-py \\
        --encoder resnet --epochs 10 --augment-hflip --out runs/cifar_resnet
"""

from roadgym.perception.cli import train_classifier_main

if __name__ == "__main__":
    train_classifier_main()
