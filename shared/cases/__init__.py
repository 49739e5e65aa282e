"""Cases (办件): filing, the materials check, routing, decisions and history."""
