"""Training extensions: optional pieces of a run, listed in its config, each validating
itself and plugging into SB3 as callbacks.

Built in:

- ``student_pull`` (:class:`StudentPull`): keep a fine-tune's actions near the student
  it started from (``init_from``), with a weight that may decay;
- ``critic_warmup`` (:class:`CriticWarmup`): train PPO's critic alone first;
- ``expert_term`` (:class:`ExpertTerm`): pull PPO's actions towards the privileged
  expert's on its own rollouts (online DAgger), optionally handing stop-sign approaches
  and slow frames over to it.

In a run config (``config.yaml``) they are a list::

    extensions:
      - {name: critic_warmup, steps: 40000}
      - {name: student_pull, coef: 2.0, decay_steps: null}

and ``roadgym train --set extensions.student_pull.coef=2.0`` sets one field (adding the
extension when it is not listed; ``--set extensions.student_pull=null`` removes it).
A new extension subclasses :class:`TrainingExtension` and is registered with
:func:`register_extension`; the trainer needs no change.
"""

from roadgym.agents.extensions.base import (
    ExtensionContext,
    TrainingExtension,
    require_continuous_actions,
)
from roadgym.agents.extensions.critic_warmup import CriticWarmup
from roadgym.agents.extensions.expert_term import ExpertTerm
from roadgym.agents.extensions.registry import (
    extension_class,
    extension_names,
    extensions_from_data,
    register_extension,
)
from roadgym.agents.extensions.student_pull import StudentPull

__all__ = [
    "CriticWarmup",
    "ExpertTerm",
    "ExtensionContext",
    "StudentPull",
    "TrainingExtension",
    "extension_class",
    "extension_names",
    "extensions_from_data",
    "register_extension",
    "require_continuous_actions",
]
