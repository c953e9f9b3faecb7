"""Pure rules for ringing cases: who is eligible, when to call, how a case ends."""
