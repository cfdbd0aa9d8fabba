"""Figures from stored arrays (numpy in, matplotlib out; never jax, never plt.show()).

core.py holds the shared drawing functions; one module per figure family beside it.
"""

from superpose.plots.core import bias_column, features_2d, gram_heatmap, norm_bars, save

__all__ = ["bias_column", "features_2d", "gram_heatmap", "norm_bars", "save"]
