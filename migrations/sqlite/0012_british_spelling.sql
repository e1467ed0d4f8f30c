-- Whether drafts and their words are converted from American to British spelling
-- (tumor -> tumour); 0/1, on unless a super-user turns it off.
ALTER TABLE recognition_settings ADD COLUMN british_spelling INTEGER NOT NULL DEFAULT 1;
