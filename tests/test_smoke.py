import numpy as np

import eap_anomaly


def test_public_api_is_exported():
    assert set(eap_anomaly.__all__) >= {"knn_radii", "rarity_scores", "estimate_k"}
    assert np.isclose(eap_anomaly.knn_radii(np.array([[0.0], [3.0], [7.0]]), 1), [3.0, 3.0, 4.0]).all()
