-- One database per station of deploy/examples/network.yaml, owned by the tongban user
-- (run once, when the PostgreSQL volume is new). Each station creates its tables itself.
CREATE DATABASE tongban_445203 OWNER tongban;
CREATE DATABASE tongban_445203001 OWNER tongban;
CREATE DATABASE tongban_445203001001 OWNER tongban;
CREATE DATABASE tongban_445203001200 OWNER tongban;
CREATE DATABASE tongban_445203002 OWNER tongban;
CREATE DATABASE tongban_445203002001 OWNER tongban;
CREATE DATABASE tongban_445203002002 OWNER tongban;
