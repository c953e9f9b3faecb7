"""Working the service-recovery queue: accounts and roles, deadlines, the referral
workflow and the audit trail."""
