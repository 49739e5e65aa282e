"""How Tongban is started: the host process, the `tongban` command, example configs."""
