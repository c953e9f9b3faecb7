"""Results: exports and survey figures, counted one interview per case."""
