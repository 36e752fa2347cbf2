"""The paper's evaluation (SPEC sections 8-9): consumers of the scoring API, never imported by it.

- :mod:`.protocol`: splits, AUC_QLT, learning curves, ranks and the report tables;
- :mod:`.baselines`: the quality scores of EAP and the baselines from one fitted scorer;
- :mod:`.datasets`: ADBench-format ``.npz`` files from a directory the user gives;
- :mod:`.journal`: each finished experiment of ``eap-anomaly evaluate``, kept for ``--resume``;
- :mod:`.valuation` (with :mod:`.sinkhorn`): the data-valuation baselines;
- :mod:`.quality`: the pieces of the quality study (docs/quality.md);
- :mod:`.plots`: the report's figures (``pip install 'eap-anomaly[plot]'``).
"""
