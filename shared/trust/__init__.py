"""Trust between stations: who a message is from (the broker proves it) and what that
station may send (the rules here). Plain Python: the broker client lives in services/."""
