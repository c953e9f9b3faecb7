"""``ivr demo``: a whole survey run on the embedded default, played by the simulator."""
