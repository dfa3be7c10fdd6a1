"""The relevance cutoff from tens of images to millions: what stands out is kept, the bulk is not."""

from __future__ import annotations

import numpy as np

from search.relevance import MIN_Z, min_z, relevant_count


def test_two_clear_matches_in_an_eleven_image_library_are_kept():
    # the scores `pixseek search "a red circle"` gave in a fresh 11-image library (two red circles)
    scores = np.array([0.529, 0.524, 0.340, 0.333, 0.321, 0.310, 0.304, 0.298, 0.291, 0.280, 0.272])
    assert relevant_count(scores) == 2


def test_the_floor_rises_with_the_collection_and_is_fixed_from_a_few_hundred():
    floors = [min_z(n) for n in (11, 64, 200, 460, 10_000, 4000)]
    assert floors[0] < floors[1] < floors[2] < floors[3] == MIN_Z == floors[4] == floors[5]


def test_forty_matches_among_four_thousand_candidates_are_found_and_the_bulk_is_not():
    rng = np.random.default_rng(3)
    scores = np.sort(np.concatenate([rng.normal(0.30, 0.02, 3960), rng.normal(0.45, 0.01, 40)]))[::-1]
    assert 36 <= relevant_count(scores) <= 44


def test_a_handful_of_images_is_kept_whole():
    assert relevant_count(np.array([0.4, 0.2])) == 2
