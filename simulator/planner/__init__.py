"""The enterprise inventory (SQLite) and the federate-or-centralize plan."""
