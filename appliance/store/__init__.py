"""SQLite ownership: connections, transactions, migrations and query helpers. No SQL elsewhere."""
