"""itutils: the verified helpers behind "Information Theory for Machine Learning".

One module per idea: :mod:`itutils.measures` (entropy, KL, MI on probability
arrays) and, as the course grows, estimators, Gaussian closed forms, losses,
the VAE, the information bottleneck, data and widgets. Every information
measure takes ``base`` (2 = bits by default, ``numpy.e`` = nats).
"""

from itutils.measures import (
    conditional_entropy,
    cross_entropy,
    entropy,
    joint_entropy,
    js_divergence,
    kl_divergence,
    mutual_information,
    self_information,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "conditional_entropy",
    "cross_entropy",
    "entropy",
    "joint_entropy",
    "js_divergence",
    "kl_divergence",
    "mutual_information",
    "self_information",
]
