"""Users, roles and what each role may do at a station (plain Python, no nameko)."""
