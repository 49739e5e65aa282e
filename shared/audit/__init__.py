"""The access audit (访问审计): who saw a full ID number or phone, who changed a case,
every login and failed login — with their role, station, time and client address.

- entries.py: what an entry holds, and the schema a copy received at the district must pass;
- store.py: the append-only log in a station's database (no update or delete path; the
  database refuses them too), the batches copied to the district, the district's search;
- access.py: who may read it (the district's supervisor);
- export.py: the CSV download.

Every station keeps its own entries and copies them in batches to the district, which
accepts a copy only from the station the entries belong to (shared/trust/entitlement.py).
"""
