"""A label-conditioned GAN of camera frames, scored in roadgym's own feature space.

- :mod:`~roadgym.perception.gan.config`: :class:`GanConfig`.
- :mod:`~roadgym.perception.gan.models`: conditional DCGAN generator (palette or RGB
  output), spectrally normalised projection discriminator.
- :mod:`~roadgym.perception.gan.train`: :func:`train_gan` (hinge loss, EMA generator,
  resumable atomic checkpoints, TensorBoard, tqdm).
- :mod:`~roadgym.perception.gan.edit`: latent inversion and label edits of real frames.
- :mod:`~roadgym.perception.gan.score`: FD, KID and label consistency beside the floor
  (real vs real) and the ceiling (untrained generator).
- :mod:`~roadgym.perception.gan.cli`: ``roadgym gan train|sample|edit|score``.

The augmentation study (generated rare-class frames for a classifier) lives outside the
package, in the repository's ``experiments/gan/``.

Submodules import torch; import them directly (nothing is imported here).
"""
