ALTER TABLE prices DROP PARTITION WHERE timestamp < dateadd('d', -30, now());
ALTER TABLE prices SET TTL 30 DAYS;
