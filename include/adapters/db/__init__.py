"""Access to the Intelligence DB: connections, migrations, and the one repository of domain rows."""
