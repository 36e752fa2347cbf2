"""LAVA's values (``lava(solver="geomloss")``) against GeomLoss itself, on protocol splits.

GeomLoss and PyTorch are not dependencies of the package: run this in an environment of its own,

    python -m venv /tmp/gl && /tmp/gl/bin/pip install . torch==2.13.0 geomloss==0.2.6
    /tmp/gl/bin/python benchmarks/lava_against_geomloss.py --data-dir ../shared/datasets/adbench \\
        --datasets Classical/39_vertebral Classical/18_Ionosphere CV_by_ViT/MVTec-AD_toothbrush

GeomLoss's side is OTDD's construction as the authors' code runs it, with labels indexed 0/1:
W from ``SamplesLoss("sinkhorn", p=2, blur=sqrt(0.1), debias=True)`` per pair of classes, then
``SamplesLoss(..., debias=False, potentials=True)`` from the training set with the candidate
(labels 0/1 appended) to the training set (labels 1/2 appended), cost ||x - x'||^2 / 2 + W,
in float64 on the CPU. Prints the largest relative difference per dataset (seed 0).
"""

import argparse

import geomloss
import numpy as np
import torch
from geomloss.utils import squared_distances

from eap_anomaly.evaluation.datasets import list_datasets, load_dataset
from eap_anomaly.evaluation.protocol import make_split, other_datasets, suite_of
from eap_anomaly.evaluation.valuation import LAVA_EPS, lava


def geomloss_lava(X, y, Z, eps=LAVA_EPS):
    torch.set_default_dtype(torch.float64)
    X, Z = torch.tensor(X), torch.tensor(Z)
    y = torch.tensor((np.asarray(y) == 1).astype(np.int64))
    blur = eps ** 0.5
    divergence = geomloss.SamplesLoss(loss="sinkhorn", p=2, blur=blur, debias=True,
                                      cost=lambda a, b: squared_distances(a, b) / 2)
    normals, anomalies = X[y == 0], X[y == 1]
    target = torch.cat([X, (y[:, None] + 1).double()], 1)
    n, values = X.shape[0], []
    for z in Z:
        source_class = torch.cat([anomalies, z[None]])
        W = torch.tensor([[0.0, divergence(normals, anomalies).item()],
                          [divergence(source_class, normals).item(),
                           divergence(source_class, anomalies).item()]])

        def cost(P, Q):  # P, Q: (batch, points, features + label); target labels are 1/2
            C = squared_distances(P[..., :-1], Q[..., :-1]) / 2
            yp, yq = P[..., -1].long(), Q[..., -1].long()
            if yp.max() > 1:  # GeomLoss's transposed call: P is the target
                return C + W[yq[:, None, :], yp[:, :, None] - 1]
            return C + W[yp[:, :, None], yq[:, None, :] - 1]

        source = torch.cat([torch.cat([X, z[None]]), torch.cat([y, torch.ones(1, dtype=torch.int64)])[:, None].double()], 1)
        loss = geomloss.SamplesLoss(loss="sinkhorn", p=2, blur=blur, cost=cost, debias=False,
                                    potentials=True, backend="tensorized")
        f, _ = loss(source, target)
        f = f.squeeze()
        values.append(-(f[-1] - f[:-1].sum() / n).item())
    return np.array(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--datasets", nargs="+", required=True)
    parser.add_argument("--candidates", type=int, default=40, help="first candidates of each split")
    args = parser.parse_args()
    names = list_datasets(args.data_dir)
    for name in args.datasets:
        X, y = load_dataset(name, args.data_dir)
        others = [load_dataset(o, args.data_dir)[0] for o in other_datasets(name, names, 0)]
        split = make_split(X, y, others, 0, same_space=suite_of(name) == "image")
        Z = split.X_aux[:args.candidates]
        ours = lava(split.X_train, split.y_train, Z, solver="geomloss")
        theirs = geomloss_lava(np.asarray(split.X_train, float), split.y_train, np.asarray(Z, float))
        print(f"{name}: {Z.shape[0]} candidates, largest relative difference "
              f"{np.max(np.abs(ours - theirs) / np.abs(theirs)):.1e}")


if __name__ == "__main__":
    main()
