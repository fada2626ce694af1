-- The language of the privacy statement a consent was given to (its
-- version alone names the text; the language says which one was shown).
-- Consents given before there was a choice were given in English.
ALTER TABLE consents ADD COLUMN statement_language TEXT NOT NULL DEFAULT 'en';
