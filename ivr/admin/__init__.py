"""The administrator's data-protection pages: the audit log, a victim's data (see it,
download it, erase it) and the staff accounts."""
