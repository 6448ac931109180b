"""The geometry of a path's picture: filter normalisation, and the plane a trajectory is
drawn in, against paths whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from lrlab.analysis.landscape import filter_normalised, grid_around, plane_of

SHAPES = [(3, 4), (4,), (4, 2), (2,)]  # a dense kernel, its bias, another, its bias
SIZE = sum(int(np.prod(s)) for s in SHAPES)


def test_each_filter_takes_its_reference_filters_norm_and_biases_go_to_zero() -> None:
    rng = np.random.default_rng(0)
    direction, reference = rng.standard_normal(SIZE), rng.standard_normal(SIZE) * 5
    found = filter_normalised(direction, reference, SHAPES)
    kernel, bias = found[:12].reshape(3, 4), found[12:16]
    assert np.allclose(np.linalg.norm(kernel, axis=0),
                       np.linalg.norm(reference[:12].reshape(3, 4), axis=0))
    assert np.all(bias == 0) and np.all(found[24:] == 0)
    # Each filter keeps its own direction: only its length changes.
    cosine = np.sum(kernel * direction[:12].reshape(3, 4), axis=0) / (
        np.linalg.norm(kernel, axis=0) * np.linalg.norm(direction[:12].reshape(3, 4), axis=0))
    assert np.allclose(cosine, 1.0)


def test_a_path_in_a_plane_is_drawn_where_it_went() -> None:
    # Weights moving along two kernel directions, each filter of which has the length of
    # the final weights' filter (so that rescaling filter by filter keeps the plane), on
    # filters of their own: the path is reproduced exactly, the final weights at 0.
    rng = np.random.default_rng(1)
    final = np.zeros(SIZE)
    final[:12], final[16:24] = rng.standard_normal(12), rng.standard_normal(8)
    kernel = final[:12].reshape(3, 4)
    u, v = np.zeros(SIZE), np.zeros(SIZE)
    for k, target in ((0, u), (1, u), (2, v), (3, v)):  # filters 0-1 for u, 2-3 for v
        own = rng.standard_normal(3)
        target[:12].reshape(3, 4)[:, k] = own / np.linalg.norm(own) * np.linalg.norm(
            kernel[:, k])
    t = np.linspace(0, 1, 15)
    points = final + np.outer(np.cos(3 * t) - np.cos(3), u) + np.outer(t ** 2 - 1, v) * 0.3
    plane = plane_of(points, shapes=SHAPES)
    assert sum(plane.explained) == pytest.approx(1.0, abs=1e-9)
    assert plane.captured == pytest.approx(1.0, abs=1e-9)
    assert np.allclose(plane.coordinates[-1], 0.0, atol=1e-9)
    rebuilt = final + np.outer(plane.coordinates[:, 0], plane.first) + np.outer(
        plane.coordinates[:, 1], plane.second)
    assert np.allclose(rebuilt, points, atol=1e-6)


def test_a_plane_turned_by_the_rescaling_says_how_much_of_the_path_it_keeps() -> None:
    rng = np.random.default_rng(2)
    final = rng.standard_normal(SIZE)
    u = rng.standard_normal(SIZE)  # filters of unequal lengths: the plane turns
    points = final + np.outer(np.linspace(1, 0, 10), u) + rng.standard_normal((10, SIZE)) * 0.01
    plane = plane_of(points, shapes=SHAPES)
    rebuilt = np.outer(plane.coordinates[:, 0], plane.first) + np.outer(
        plane.coordinates[:, 1], plane.second)
    moved = points - points[-1]  # the final weights are the last point
    share = 1 - np.sum((moved - rebuilt) ** 2) / np.sum(moved ** 2)
    assert plane.captured == pytest.approx(share) and 0 < plane.captured < 1


def test_the_grid_covers_the_path_with_a_margin() -> None:
    coordinates = np.array([[-2.0, 0.5], [0.0, 0.0], [1.0, -0.5]])
    first, second = grid_around(coordinates, size=9)
    assert len(first) == len(second) == 9
    assert first[0] < -2.0 and first[-1] > 1.0 and second[0] < -0.5 and second[-1] > 0.5
