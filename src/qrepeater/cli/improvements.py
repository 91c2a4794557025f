"""Which way a scenario parameter improves — so that ``qrepeater sensitivity`` offers only real
hardware improvements (issue 17: it offered "×379 wider detection windows" and "×436 more noise").

:func:`improvement_direction` is +1 if a larger value is better hardware, −1 if a smaller one is and 0
if neither: a set-up choice (a detection window, a filter bandwidth, a decoupling-pulse interval, the
operating point α) or a model constant (an atomic decay time, a fitted weight, the fibre's group
index). It follows the kind the requirements cost model declares for the parameter
(:data:`qrepeater.studies.requirements_model.PARAMETER_KINDS`: probability, lifetime, bandwidth →
larger is better; error, duration, noise → smaller; setting → neither) and, for the parameters that
table does not list (the filter-list entries ``--set`` cannot address, gate figures of a node), the
parameter's name: an efficiency, transmission, fidelity, overlap or contrast improves upward; an error
probability, a noise density or rate, a dark-count rate or a gate/readout duration downward; anything
else counts as a set-up choice or constant. (The rule is the presentation's; the study itself still
varies every number — it would be cheaper if :mod:`qrepeater.studies.sensitivity` skipped direction-0
parameters.)
"""

from __future__ import annotations

import re

from ..studies.requirements_model import PARAMETER_KINDS

#: direction of improvement of each cost-model kind
KIND_DIRECTION = {"probability": 1, "lifetime": 1, "bandwidth": 1, "error": -1, "duration": -1, "noise": -1, "setting": 0}
#: name patterns of parameters the cost model does not list: (regular expression on the last name, direction)
NAME_DIRECTION = (
    (r"(efficiency|transmission|fidelity|overlap|contrast)$", 1),
    (r"(^|_)error($|_per_|_rate|_probability)|_noise_(rms|density|rate)|dark_count", -1),
    (r"(gate|readout|operation)_duration_s$", -1),
)


def _kind_key(parameter: str) -> str:
    name = re.sub(r"^node_(\{a,b\}|a|b)\.", "node.", parameter)
    return re.sub(r"\[\d+\]", ".*", name)


def improvement_direction(parameter: str) -> int:
    """+1 if a larger value of ``parameter`` (a sensitivity display name such as
    ``node_{a,b}.source.collection_efficiency``) is better hardware, −1 if a smaller one is, 0 if it is
    a set-up choice or a model constant (see the module docstring)."""
    kind = PARAMETER_KINDS.get(_kind_key(parameter))
    if kind is not None:
        return KIND_DIRECTION[kind]
    last = parameter.split(".")[-1]
    for pattern, direction in NAME_DIRECTION:
        if re.search(pattern, last):
            return direction
    return 0


__all__ = ["KIND_DIRECTION", "NAME_DIRECTION", "improvement_direction"]
