import numpy as np
import pytest

from core.engine import knownness
from core.training.calibrate import auroc, knn_arrays, mahalanobis_arrays, mix_array, thresholds


def test_knn_score_is_minus_the_distance_to_the_kth_nearest_unit_vector():
    rng = np.random.default_rng(0)
    bank, queries = rng.normal(size=(50, 8)), rng.normal(size=(1200, 8))  # more than one chunk
    unit = bank / np.linalg.norm(bank, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    distances = np.linalg.norm(q[:, None] - unit[None], axis=2)
    for k in (1, 3):
        expected = -np.sort(distances, axis=1)[:, k - 1]
        np.testing.assert_allclose(knownness.knn_score(queries, bank, k), expected, atol=1e-5)
    assert knownness.knn_score(bank[:3] * 7.0, bank, 1) == pytest.approx(0.0, abs=1e-3)  # scale-free


def test_a_frame_scored_alone_scores_as_in_a_batch_and_a_prepared_scorer_as_frame_scores(effnet_bundle):
    """The live view scores one frame at a time, with the bank normalised once (``frame_scorer``)
    and a single row taking numpy's own product instead of BLAS's."""
    calibration = effnet_bundle.spec.open_set
    features = np.random.default_rng(2).normal(size=(5, calibration.feature_dim)).astype(np.float32)
    batch = knownness.frame_scores(calibration, features)
    scorer = knownness.frame_scorer(calibration)
    alone = np.concatenate([scorer(row[None]) for row in features])
    np.testing.assert_allclose(alone, batch, atol=1e-5)
    np.testing.assert_allclose(scorer(features), batch, atol=0)


def test_mahalanobis_prefers_points_near_a_class_mean():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(200, 4)) * 0.1 + [1, 0, 0, 0]
    b = rng.normal(size=(200, 4)) * 0.1 + [0, 1, 0, 0]
    arrays = mahalanobis_arrays(np.concatenate([a, b]), np.repeat([0, 1], 200))
    near, far = np.array([[1.0, 0.05, 0, 0]]), np.array([[0, 0, 1.0, 0]])
    score = knownness.mahalanobis_score
    assert (
        score(near, arrays["means"], arrays["precision"])[0]
        > score(far, arrays["means"], arrays["precision"])[0]
    )


def test_softmax_scores():
    probabilities = np.array([[0.9, 0.1], [0.5, 0.5]])
    np.testing.assert_allclose(knownness.msp_score(probabilities), [0.9, 0.5])
    logits = np.array([[1000.0, 0.0], [0.0, 0.0]])  # no overflow
    np.testing.assert_allclose(knownness.energy_score(logits), [1000.0, np.log(2)])


def test_knn_energy_weighs_its_two_parts_by_their_spread_on_validation_windows():
    rng = np.random.default_rng(3)
    knn, energy = rng.normal(-0.9, 0.02, size=400), rng.normal(6.0, 1.5, size=400)  # scales 75x apart
    mix = mix_array(knn, energy)
    np.testing.assert_allclose(mix, [[knn.mean(), knn.std()], [energy.mean(), energy.std()]], rtol=1e-5)
    mixed = knownness.mixed_score(knn, energy, mix)
    assert abs(mixed.mean()) < 1e-4
    # one standard deviation further from the training frames costs as much as one of energy
    step = knownness.mixed_score(knn[:1] - knn.std(), energy[:1] + energy.std(), mix)
    assert step[0] == pytest.approx(mixed[0], abs=1e-4)


def test_bank_is_a_bounded_sample_and_thresholds_accept_the_share_asked():
    features = np.random.default_rng(2).normal(size=(5000, 16))
    bank = knn_arrays(features)["bank"]
    assert len(bank) == 3000 and np.allclose(np.linalg.norm(bank, axis=1), 1, atol=1e-3)  # float16-rounded
    clips = np.linspace(0, 1, 101)
    video, window = thresholds(clips, clips * 2)
    assert (clips >= video).mean() == pytest.approx(0.95, abs=0.01) and window == pytest.approx(2 * video)


def test_auroc():
    assert auroc([3, 4, 5], [0, 1, 2]) == 1.0 and auroc([0, 1], [2, 3]) == 0.0
    assert auroc([1, 2], [1, 2]) == 0.5  # ties count half
    assert auroc([0.9, 0.8, 0.3], [0.5, 0.1]) == pytest.approx(5 / 6)
