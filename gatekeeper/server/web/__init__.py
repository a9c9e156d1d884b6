"""The release manager's pages on the store server: routes, their queries, and their templates."""
