"""Referrals and action alerts: the workflow, deadlines, notifications and the queue pages."""
