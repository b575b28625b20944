-- A sync keeps one snapshot per (identity, connection, peer connection), so that an app synced
-- with several others keeps one state per partner. Existing rows get the empty peer.
-- SQLite cannot change a primary key in place: rebuild the table.
CREATE TABLE snapshots_by_peer (
    identity_id   INTEGER NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    connection_id TEXT NOT NULL,
    peer          TEXT NOT NULL DEFAULT '',
    fields        TEXT NOT NULL,
    hash          TEXT NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (identity_id, connection_id, peer)
);
INSERT INTO snapshots_by_peer (identity_id, connection_id, peer, fields, hash, updated_at)
    SELECT identity_id, connection_id, '', fields, hash, updated_at FROM snapshots;
DROP TABLE snapshots;
ALTER TABLE snapshots_by_peer RENAME TO snapshots;
