-- A sync keeps one snapshot per (identity, connection, peer connection), so that an app synced
-- with several others keeps one state per partner. Existing rows get the empty peer.
ALTER TABLE snapshots ADD COLUMN peer TEXT NOT NULL DEFAULT '';
ALTER TABLE snapshots DROP CONSTRAINT snapshots_pkey;
ALTER TABLE snapshots ADD PRIMARY KEY (identity_id, connection_id, peer);
