-- Single sign-on: the provider identity (issuer, subject) a user is bound to. Made on the
-- user's first sign-on; later sign-ons match by it alone. One identity per user.
CREATE TABLE oidc_subjects (
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    TEXT NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject)
);
