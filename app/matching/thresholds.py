"""Matching thresholds, measured by two benchmarks (figures below, held out unless stated):

* bench/matching_accuracy_real.py: 54 real photographs from Debian packages, split by source
  photo into 27 calibration + 27 held out, 17 named changes (the issue's floors) plus real
  photo pairs, matched by the product's own engine against a library of every source's
  original plus rendered cell photos (bench/results/matching_accuracy_real_quick.md).
* bench/matching_accuracy.py: procedurally rendered prison cells (many look-alike rooms: the
  hard case for false links), calibration and held-out scenes
  (bench/results/matching_accuracy.md, 150 + 150 scenes, features v1;
  bench/results/matching_accuracy_quick.md, 40 + 40 scenes, features v2).

Decision for a (new image, stored image) pair:
  linked if min(d(phash, phash), d(phash, phash_mirror), d(phash_trim, phash_trim))
            <= GLOBAL_MAX_DISTANCE                                   (near duplicate)
  or, for the stored images shortlisted by SHORTLIST_GLOBAL nearest global distance plus
  SHORTLIST_VOTES most DescriptorIndex votes for the photo and as many for its mirror image,
  if verify_features(...) >= VERIFY_MIN_SCORE (features v2: contrast-equalised ORB, and the
  better of the photo's and its mirror image's score).
Real photographs, held out (quick run, 27 per change): 100% of resize, JPEG q70/q50, crop
10%/20%, mirror, screenshot, brightness, colour filter, rotation 5 and 10 degrees, sticker
overlay, repost chain, mirrored+cropped selfie, mild and strong perspective change; text
overlay 92.6%; real pairs 3 of 6 (a second photograph 2/3, another viewpoint 1/3): too
few pairs to claim a rate, and below the floor; 0 false links. Rendered cells, held out:
98% of other viewpoints, 0 false links.
"""

# Calibration (rendered cells, 150 scenes): the closest pair of distinct cells was 4 apart
# (1,352,175 pairs), so <= 3. Real photographs: no false link at 3 either.
GLOBAL_MAX_DISTANCE = 3

# Calibration: best distinct-scene verify score 15 on rendered cells (150 scenes, features
# v1; 12 with features v2 on 40 scenes) and 9 on real photographs (features v2);
# ceil((15 + 1) * 1.25) = 20. Held out: 0 false links; worst true scores of passing changes
# on real photographs 20-70.
VERIFY_MIN_SCORE = 20

# Rendered cells: global top-8 alone finds 52% of other viewpoints, votes top-8 find 100%.
# Real photographs, held out: no miss of a named change was left off the shortlist; 2 of the
# 3 real two-view pairs were (large viewpoint change: the aerial and graffiti pairs).
SHORTLIST_GLOBAL = 8
SHORTLIST_VOTES = 8
