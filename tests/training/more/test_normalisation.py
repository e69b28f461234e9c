"""Per-reward group normalisation."""

from __future__ import annotations

import math

import pytest
import torch

from training.more.normalisation import group_normalise


def test_group_normalise_standardises_each_column_within_each_group() -> None:
    values = torch.tensor(
        [[0.0, 10.0], [1.0, 20.0], [2.0, 30.0], [5.0, 0.0], [5.0, 1.0], [5.0, 2.0]]
    )
    z = group_normalise(values, group_size=3)
    assert z.shape == (6, 2)
    for g in range(2):
        block = z[g * 3 : (g + 1) * 3]
        assert block.mean(dim=0).abs().max() < 1e-5
    # the scale of a column does not matter: both columns of group 0 give the same z-scores
    assert torch.allclose(z[:3, 0], z[:3, 1], atol=1e-3)
    assert z[0, 0] < 0 < z[2, 0]
    # a group where every sample scores the same carries no signal
    assert torch.all(z[3:, 0] == 0)


def test_group_normalise_ignores_nan_and_zeroes_it() -> None:
    values = torch.tensor([[1.0], [math.nan], [0.0], [0.5]])
    z = group_normalise(values, group_size=4)
    assert z[1, 0] == 0
    valid = z[[0, 2, 3], 0]
    assert valid.sum().abs() < 1e-5
    assert valid[0] > valid[2] > valid[1]


def test_group_normalise_all_nan_column_is_zero() -> None:
    values = torch.tensor([[math.nan, 1.0], [math.nan, 0.0]])
    z = group_normalise(values, group_size=2)
    assert torch.all(z[:, 0] == 0)
    assert not torch.isnan(z).any()


def test_group_normalise_rejects_partial_groups() -> None:
    with pytest.raises(ValueError, match="groups of 4"):
        group_normalise(torch.zeros(6, 1), group_size=4)
