"""Outbound campaigns: samples, eligibility, the calling policy, dispositions, the dialler."""
