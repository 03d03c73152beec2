"""itutils: the verified helpers behind "Information Theory for Machine Learning".

One module per idea:

- :mod:`itutils.measures`: entropy, KL, cross-entropy, JS, MI on probability arrays
- :mod:`itutils.gaussian`: closed forms for Gaussians
- :mod:`itutils.estimators`: the same quantities from samples, feature selection
- :mod:`itutils.multivariate`: conditional MI, Markov chains (data processing)
- :mod:`itutils.variational`: variational MI bounds (InfoNCE, NWJ, MINE; torch)
- :mod:`itutils.losses`: cross-entropy, KL loss, label smoothing, calibration and
  temperature scaling (torch)
- :mod:`itutils.vae`, :mod:`itutils.bottleneck`, :mod:`itutils.data`,
  :mod:`itutils.plots`, :mod:`itutils.widgets`

Every information measure takes ``base`` (2 = bits by default, ``numpy.e`` =
nats); torch losses and ELBO terms are in nats. The numpy-only modules are
imported eagerly; the torch-based ones on first use, so ``import itutils``
stays fast.
"""

from importlib import import_module

from itutils.bottleneck import (
    blahut_arimoto_capacity,
    blahut_arimoto_rate_distortion,
    ib_curve,
    information_bottleneck,
)
from itutils.estimators import (
    MIBias,
    entropy_from_samples,
    ksg_mutual_information,
    mi_analytic_bias,
    mi_permutation_bias,
    mixed_mutual_information,
    mutual_information_from_samples,
    select_features,
)
from itutils.gaussian import (
    gaussian_entropy,
    gaussian_kl,
    gaussian_mutual_information,
)
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
from itutils.multivariate import (
    binary_symmetric_channel,
    conditional_mutual_information,
    markov_chain_joint,
)

__version__ = "0.1.0"

# Public names of the torch-based modules, imported when first asked for.
_LAZY = {
    "cross_entropy_loss": "itutils.losses",
    "kl_div_loss": "itutils.losses",
    "label_smoothing_targets": "itutils.losses",
    "label_smoothing_loss": "itutils.losses",
    "expected_calibration_error": "itutils.losses",
    "fit_temperature": "itutils.losses",
    "temperature_nll": "itutils.losses",
    "VAE": "itutils.vae",
    "elbo_terms": "itutils.vae",
    "iwae_bound": "itutils.vae",
    "train_vae": "itutils.vae",
    "beta_sweep": "itutils.vae",
    "fit_gaussian_q": "itutils.vae",
    "load_digits_binary": "itutils.data",
    "load_digits_classification": "itutils.data",
    "load_mnist": "itutils.data",
    "infonce_bound": "itutils.variational",
    "nwj_bound": "itutils.variational",
    "dv_bound": "itutils.variational",
    "train_critics": "itutils.variational",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'itutils' has no attribute {name!r}")


__all__ = [
    "__version__",
    # measures
    "conditional_entropy",
    "cross_entropy",
    "entropy",
    "joint_entropy",
    "js_divergence",
    "kl_divergence",
    "mutual_information",
    "self_information",
    # gaussian
    "gaussian_entropy",
    "gaussian_kl",
    "gaussian_mutual_information",
    # estimators
    "MIBias",
    "entropy_from_samples",
    "ksg_mutual_information",
    "mi_analytic_bias",
    "mi_permutation_bias",
    "mixed_mutual_information",
    "mutual_information_from_samples",
    "select_features",
    # multivariate
    "binary_symmetric_channel",
    "conditional_mutual_information",
    "markov_chain_joint",
    # bottleneck
    "blahut_arimoto_capacity",
    "blahut_arimoto_rate_distortion",
    "ib_curve",
    "information_bottleneck",
    *_LAZY,
]
