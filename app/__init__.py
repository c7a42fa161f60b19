"""Cellwatch: links social-media accounts run from smuggled phones to cells and prisoners."""
