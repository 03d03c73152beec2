"""Plausible wrong answers to exercise sheet 5 (losses and calibration), one cell each.

See ``tests/test_wrong_answers.py`` for how they are used.
"""

CROSS_ENTROPY = '''
def smoothed_cross_entropy(logits, labels, eps):
    logits = np.asarray(logits, dtype=float)
    top = logits.max(axis=1, keepdims=True)
    log_q = logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))
    targets = smoothed_targets(labels, logits.shape[1], eps)
    return float(-(targets * log_q).sum(axis=1).mean())
'''

ECE = '''
def expected_calibration_error(probs, labels, n_bins=15):
    probs, labels = np.asarray(probs, dtype=float), np.asarray(labels)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    which = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    ece = 0.0
    for b in np.unique(which):
        in_bin = which == b
        ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(ece)
'''

TEMPERATURE = '''
from scipy.optimize import minimize_scalar


def fit_temperature(logits, labels):
    logits = np.asarray(logits, dtype=float)
    fit = minimize_scalar(
        lambda log_t: smoothed_cross_entropy(logits / np.exp(log_t), labels, 0.0),
        bounds=(-5.0, 5.0), method="bounded", options={"xatol": 1e-10},
    )
    return float(np.exp(fit.x))
'''

EXPERIMENT = '''
for eps in epsilons:
    rows, val_logits[eps], test_logits[eps] = [], [], []
    for seed in (0, 1, 2):
        split = split_digits(seed)
        model = train_softmax_regression(
            split.x_train, smoothed_targets(split.y_train, 10, eps))
        z_val, z_test = model(split.x_val), model(split.x_test)
        temperature = fit_temperature(z_val, split.y_val)
        rows.append([
            smoothed_cross_entropy(z_test, split.y_test, 0.0),
            expected_calibration_error(softmax(z_test), split.y_test),
            temperature,
            smoothed_cross_entropy(z_test / temperature, split.y_test, 0.0),
            expected_calibration_error(softmax(z_test / temperature), split.y_test),
        ])
        val_logits[eps].append(z_val)
        test_logits[eps].append(z_test)
    table[eps] = np.array(rows)
'''

WRONG = [
    ("smoothed_targets", "the other convention (eps / (K - 1) off target)",
     "def smoothed_targets(labels, n_classes, eps):\n"
     "    one_hot = np.eye(n_classes)[np.asarray(labels)]\n"
     "    return np.where(one_hot > 0, 1 - eps, eps / (n_classes - 1))\n",
     ["smoothed_targets_tests", "smoothed_cross_entropy_tests", "min_loss_tests"]),
    ("smoothed_targets", "true class 1 - eps without the floor",
     "def smoothed_targets(labels, n_classes, eps):\n"
     "    one_hot = np.eye(n_classes)[np.asarray(labels)]\n"
     "    return np.where(one_hot > 0, 1 - eps, eps / n_classes)\n",
     ["smoothed_targets_tests", "smoothed_cross_entropy_tests", "min_loss_tests"]),
    ("smoothed_cross_entropy", "eps ignored",
     CROSS_ENTROPY.replace("smoothed_targets(labels, logits.shape[1], eps)",
                           "smoothed_targets(labels, logits.shape[1], 0.0)"),
     ["smoothed_cross_entropy_tests"]),
    ("smoothed_cross_entropy", "no maximum subtracted (overflow)",
     CROSS_ENTROPY.replace("top = logits.max(axis=1, keepdims=True)", "top = 0.0"),
     ["smoothed_cross_entropy_tests"]),
    ("min_loss", "the minimum taken to be 0",
     "min_loss = 0.0\nbest_logit_gap = float(np.log(91))\n", ["min_loss_tests"]),
    ("min_loss", "the gap of the other convention",
     "t = smoothed_targets([0], 10, 0.1)[0]\n"
     "min_loss = float(-(t * np.log(t)).sum())\n"
     "best_logit_gap = float(np.log(0.9 / (0.1 / 9)))\n",
     ["min_loss_tests"]),
    ("expected_calibration_error", "confidence of the true class", ECE.replace(
        "confidence = probs.max(axis=1)",
        "confidence = probs[np.arange(len(labels)), labels]"),
     ["ece_tests", "calibration_experiment_tests"]),
    ("expected_calibration_error", "bins weighted equally", ECE.replace(
        "ece += in_bin.mean() * abs(", "ece += 1 / len(np.unique(which)) * abs("),
     ["ece_tests", "calibration_experiment_tests"]),
    ("fit_temperature", "logits multiplied by T", TEMPERATURE.replace(
        "logits / np.exp(log_t)", "logits * np.exp(log_t)"),
     ["calibration_experiment_tests"]),
    ("fit_temperature", "ln T returned", TEMPERATURE.replace(
        "return float(np.exp(fit.x))", "return float(fit.x)"),
     ["calibration_experiment_tests"]),
    ("calibration_experiment", "temperature fitted on the test images",
     EXPERIMENT.replace("fit_temperature(z_val, split.y_val)",
                        "fit_temperature(z_test, split.y_test)"),
     ["calibration_experiment_tests"]),
    ("calibration_experiment", "after-scaling columns not rescaled",
     EXPERIMENT.replace("z_test / temperature, split.y_test, 0.0",
                        "z_test, split.y_test, 0.0"),
     ["calibration_experiment_tests"]),
]

HINTS = {
    "the other convention (eps / (K - 1) off target)": "other convention",
    "true class 1 - eps without the floor": "1 - eps + eps / K",
    "eps ignored": "eps was ignored",
    "no maximum subtracted (overflow)": "overflow",
    "confidence of the true class": "largest probability",
    "bins weighted equally": "share",
    "logits multiplied by T": "divided by T",
    "ln T returned": "ln T",
}

# Correct answers that call a reference implementation the part forbids.
FORBIDDEN = [
    ("smoothed_cross_entropy", "scipy.special.log_softmax", '''
def smoothed_cross_entropy(logits, labels, eps):
    from scipy.special import log_softmax

    logits = np.asarray(logits, dtype=float)
    targets = smoothed_targets(labels, logits.shape[1], eps)
    return float(-(targets * log_softmax(logits, axis=1)).sum(axis=1).mean())
''', "smoothed_cross_entropy_tests"),
]
