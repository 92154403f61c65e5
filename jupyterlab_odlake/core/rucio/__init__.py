"""The Rucio adapter behind the service: one instance's connection, search, paging, metadata, where to
read files, rules, uploads and the catalog, all through rucio-clients."""
