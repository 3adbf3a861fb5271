"""Typed configuration of the label-conditioned GAN (one dataclass, validated on construction)."""

from __future__ import annotations

from dataclasses import dataclass

from roadgym.envs.core.config import ConfigError

__all__ = ["GanConfig", "OUTPUT_MODES"]

OUTPUT_MODES = ("palette", "rgb")


def _positive_int(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"GanConfig.{name} = {value!r}; allowed: an int >= 1")


@dataclass(frozen=True)
class GanConfig:
    """Architecture, optimiser and schedule of :func:`roadgym.perception.gan.train.train_gan`."""

    tasks: tuple[str, ...] = ("light_state", "object_ahead", "road_layout")
    """Label tasks of the dataset the generator is conditioned on (one embedding each)."""
    z_dim: int = 64
    """Width of the Gaussian latent vector."""
    embed_dim: int = 32
    """Width of each task's label embedding in the generator (they are concatenated)."""
    g_channels: int = 32
    """Generator width: the last up-sampling block has this many channels, each block
    before it twice as many (4x4 -> 8x8 -> ... -> frame size)."""
    d_channels: int = 32
    """Discriminator width: the first down-sampling block's channels, doubled per block."""
    output: str = "palette"
    """'palette': the generator predicts, per pixel, a distribution over the colours that
    occur in the training frames (the simulator renders a palette, 13 colours on Town)
    and paints the most likely one, with straight-through gradients; 'rgb': a tanh RGB
    image (any dataset)."""
    model_scale: int = 1
    """Train both networks on frames subsampled to 1/model_scale of the frame size
    (every n-th pixel, at a random phase per batch, so thin lines are seen at every
    offset) and pixel-repeat the generator's output back to the frame size; 2 quarters
    the cost (for CPU budgets) at the price of detail finer than 2 pixels."""
    max_palette_colours: int = 64
    """With output='palette', a dataset with more distinct colours than this is an error."""
    recon_weight: float = 0.0
    """Weight of a VAE term (Larsen et al. 2016, VAE-GAN): an encoder maps each real
    frame to a latent posterior, the generator reconstructs the frame from a sample of
    it under the frame's labels (per-pixel cross-entropy over palette colours, or MSE
    for RGB), plus ``kl_weight`` times the KL divergence to the prior per pixel. It
    gives every pixel a gradient from the first step and the encoder makes edits a
    forward pass; 0 trains a pure GAN without an encoder."""
    kl_weight: float = 1.0
    """Weight of the KL term inside the VAE term (1: the evidence lower bound)."""
    adv_weight: float = 1.0
    """Weight of the generator's adversarial (hinge) loss."""
    encoder_channels: int = 32
    """Width of the encoder's first block (used when recon_weight > 0)."""
    aux_weight: float = 0.0
    """Weight of the label-consistency loss on the generator: the cross-entropy of the
    GAN's own frozen label classifier (:mod:`~roadgym.perception.gan.auxiliary`, trained
    on real train frames at the start of the run) on generated frames against their
    conditioning labels, for the tasks in ``aux_tasks`` (AC-GAN style); 0 turns it off."""
    aux_edit_weight: float = 0.0
    """Weight of the edit-consistency loss (needs ``recon_weight > 0``): the generator
    redraws each real frame from its posterior latent with the first aux task's label
    changed (rows of class 0, "none", keep theirs), and the frozen label classifier's
    cross-entropy against the new label is the loss. It teaches the generator to repaint
    the light inside a real scene, where the classifier has seen such frames."""
    aux_input: str = "rgb"
    """What the label classifier reads: 'rgb' images, or 'palette' one-hot colour maps
    (palette output only). With 'rgb' the classifier reads nearby colours alike, and the
    generator learnt to paint a vehicle-yellow blob where a yellow light's orange bar
    belongs; as categories, orange and vehicle yellow are as far apart as any two."""
    aux_tasks: tuple[str, ...] | None = None
    """Tasks the label classifier learns and the loss covers (None: all ``tasks``)."""
    aux_channels: int = 16
    """Width of the label classifier's first layer (doubled twice)."""
    aux_pretrain_steps: int = 600
    """Adam steps (batch ``batch_size * 2``, balanced as the GAN's batches) that train the
    label classifier before the GAN starts; counted in the run's wall and CPU time."""
    aux_lr: float = 2e-3
    """Adam learning rate of the label classifier (cosine-decayed to 0)."""
    diffaug_shift: int = 0
    """DiffAugment translation (Zhao et al. 2020): real and generated frames are shifted
    by up to this many pixels (at the networks' resolution) before the discriminator,
    so it cannot memorise the 8000 train frames; 0 turns it off."""
    select_every: int = 0
    """Every this many steps, score the EMA generator on the validation split (FD in the
    label classifier's feature space, generated vs real validation frames) and keep the
    best in ``best.pt``; 0 turns selection off. Needs a validation split; the test split
    and the judge are never used."""
    select_classifier: str | None = None
    """A roadgym classifier checkpoint (``train-classifier``) whose encoder features and
    task head score the validation split for ``select_every``; None: the GAN's own
    label classifier."""
    select_frames: int = 1000
    """Frames per set in that validation score."""
    batch_size: int = 64
    """Real and generated frames per step (each)."""
    steps: int = 3000
    """Optimiser steps (one discriminator and one generator update each)."""
    lr_g: float = 2e-4
    """Adam learning rate of the generator."""
    lr_d: float = 2e-4
    """Adam learning rate of the discriminator."""
    beta1: float = 0.5
    """Adam beta1 of both networks (DCGAN's 0.5: less momentum keeps the game stable)."""
    beta2: float = 0.999
    """Adam beta2 of both networks."""
    ema_decay: float = 0.999
    """Decay of the exponential moving average of the generator's weights (the EMA
    generator samples, edits and is scored); warmed up as min(decay, (1+t)/(10+t))."""
    balance_task: str | None = "light_state"
    """Draw real frames (and with them the conditioning labels) so each class of this
    task is equally frequent; p(frame | labels) is unchanged, rare classes get updates."""
    max_train_frames: int | None = None
    """Use only the first N train frames (None: all)."""
    time_budget_s: float | None = None
    """Stop (and checkpoint) once training has run this many seconds, summed over
    resumes, even before ``steps``; the step reached is recorded, and rerunning with
    that ``steps`` and no budget gives the same generator."""
    cpu_time_budget_s: float | None = None
    """As ``time_budget_s`` but in CPU seconds of this process (``time.process_time``,
    all threads): on a shared machine it measures the work done, not the waiting."""
    log_every: int = 25
    """Steps between TensorBoard loss scalars."""
    sample_every: int = 250
    """Steps between TensorBoard sample grids of the EMA generator."""
    checkpoint_every: int = 250
    """Steps between atomic checkpoints (one is also written at the end and on Ctrl-C)."""
    device: str = "auto"
    """'auto' (cuda when present), 'cuda' or 'cpu'."""
    seed: int = 0
    """Seed of weights, latents and batch order: the same seed gives the same generator."""
    show_progress: bool = True
    """Show a tqdm bar."""
    tensorboard: bool = True
    """Write TensorBoard scalars and sample grids under ``<out>/tensorboard``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", tuple(str(t) for t in self.tasks))
        if not self.tasks or len(set(self.tasks)) != len(self.tasks):
            raise ConfigError(
                f"GanConfig.tasks = {self.tasks!r}; allowed: one or more distinct tasks"
            )
        for name in (
            "z_dim",
            "embed_dim",
            "g_channels",
            "d_channels",
            "model_scale",
            "encoder_channels",
            "aux_channels",
            "aux_pretrain_steps",
            "select_frames",
            "max_palette_colours",
            "batch_size",
            "steps",
            "log_every",
            "sample_every",
            "checkpoint_every",
        ):
            _positive_int(name, getattr(self, name))
        if self.output not in OUTPUT_MODES:
            raise ConfigError(f"GanConfig.output = {self.output!r}; allowed: one of {OUTPUT_MODES}")
        if self.aux_tasks is not None:
            object.__setattr__(self, "aux_tasks", tuple(str(t) for t in self.aux_tasks))
            unknown = [t for t in self.aux_tasks if t not in self.tasks]
            if not self.aux_tasks or unknown:
                raise ConfigError(
                    f"GanConfig.aux_tasks = {self.aux_tasks!r}; allowed: None or a non-empty "
                    f"subset of tasks={self.tasks}"
                )
        if self.aux_input not in ("rgb", "palette"):
            raise ConfigError(
                f"GanConfig.aux_input = {self.aux_input!r}; allowed: 'rgb' or 'palette'"
            )
        if self.aux_input == "palette" and self.output != "palette":
            raise ConfigError("GanConfig.aux_input='palette' needs output='palette'")
        for name in ("diffaug_shift", "select_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"GanConfig.{name} = {value!r}; allowed: an int >= 0")
        if self.aux_edit_weight and not self.recon_weight:
            raise ConfigError(
                f"GanConfig.aux_edit_weight = {self.aux_edit_weight!r} needs recon_weight > 0"
            )
        for name in ("recon_weight", "kl_weight", "adv_weight", "aux_weight", "aux_edit_weight"):
            if not float(getattr(self, name)) >= 0:
                raise ConfigError(f"GanConfig.{name} = {getattr(self, name)!r}; allowed: >= 0")
        if self.recon_weight == 0 and self.adv_weight == 0:
            raise ConfigError("GanConfig: recon_weight and adv_weight cannot both be 0")
        for name in ("lr_g", "lr_d", "aux_lr"):
            if not float(getattr(self, name)) > 0:
                raise ConfigError(f"GanConfig.{name} = {getattr(self, name)!r}; allowed: > 0")
        for name in ("beta1", "beta2", "ema_decay"):
            if not 0.0 <= float(getattr(self, name)) < 1.0:
                raise ConfigError(
                    f"GanConfig.{name} = {getattr(self, name)!r}; allowed: a number in [0, 1)"
                )
        if self.balance_task is not None and self.balance_task not in self.tasks:
            raise ConfigError(
                f"GanConfig.balance_task = {self.balance_task!r}; allowed: None or one of "
                f"tasks={self.tasks}"
            )
        if self.time_budget_s is not None and not float(self.time_budget_s) > 0:
            raise ConfigError(
                f"GanConfig.time_budget_s = {self.time_budget_s!r}; allowed: > 0 or None"
            )
        if self.cpu_time_budget_s is not None and not float(self.cpu_time_budget_s) > 0:
            raise ConfigError(
                f"GanConfig.cpu_time_budget_s = {self.cpu_time_budget_s!r}; allowed: > 0 or None"
            )
        if self.max_train_frames is not None:
            _positive_int("max_train_frames", self.max_train_frames)
