"""Matching thresholds, measured by bench/matching_accuracy.py (bench/results/matching_accuracy.md:
150 calibration + 150 held-out rendered cells, 1,384,021 distinct-scene pairs held out).

Decision for a (new image, stored image) pair:
  linked if min(d(phash, phash), d(phash, phash_mirror), d(phash_trim, phash_trim))
            <= GLOBAL_MAX_DISTANCE                                   (near duplicate)
  or, for the stored images shortlisted by SHORTLIST_GLOBAL nearest global distance plus
  SHORTLIST_VOTES most DescriptorIndex votes, if verify_features(...) >= VERIFY_MIN_SCORE.
Held out, this links 100% of every near-duplicate change and 91.3% of other-viewpoint
photos with 0 false links.
"""

# Calibration: the closest pair of distinct cells was 4 apart (1,352,175 pairs), so <= 3.
GLOBAL_MAX_DISTANCE = 3

# Calibration: best distinct-scene verify score 15 (shortlisted) / 14 (all reference pairs);
# ceil((15 + 1) * 1.25) = 20. Held out: 0 false links, viewpoint p5 score ~21.
VERIFY_MIN_SCORE = 20

# Global top-8 alone finds 33% of other viewpoints; descriptor votes top-8 find 95% (held out).
SHORTLIST_GLOBAL = 8
SHORTLIST_VOTES = 8
