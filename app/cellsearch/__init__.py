"""Cell searches: requested from a confirmed attribution, acknowledged, completed."""
