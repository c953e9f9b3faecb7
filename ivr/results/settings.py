"""The results' disclosure thresholds, as the operator set them."""

from __future__ import annotations

from ivr.config import Settings
from ivr.results.model import Thresholds


def thresholds_of(settings: Settings) -> Thresholds:
    """Suppression, low-base and representation thresholds from the settings
    (``RESULTS_SUPPRESS_BELOW``, ``RESULTS_LOW_BASE_BELOW``, ``RESULTS_REPRESENTATION_MARGIN``)."""
    return Thresholds(
        suppress_below=settings.results_suppress_below,
        low_base_below=settings.results_low_base_below,
        representation_margin=settings.results_representation_margin,
    )
