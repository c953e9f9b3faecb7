"""Staff accounts: roles and district scoping, sign-in pages, the audit trail."""
